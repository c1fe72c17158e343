"""Amounts in Chinese capital form (大写金额) as banks and finance vouchers write them.

cn2an's "rmb" mode follows the People's Bank rules for 大写金额 (《正确填写票据和结算凭证
的基本规定》): 壹拾 keeps its 壹; a run of zeros inside the number is one 零; 整 follows
元 when there are no 角 or 分 (and is left out after 角 or 分); 零 is written between
元 and 分 when 角 is zero (壹仟元零伍分). Where the rules allow a zero to be written or
left out (the 万 or 元 place is zero but the next place is not: 壹拾万柒仟元伍角叁分),
cn2an leaves it out, which the rules accept. The unit tests hold it to these rules for
every case the issue names and a sweep of zeros-in-the-middle amounts.

The wrapper takes integer fen and hands cn2an an exact decimal string, never a float,
so no rounding can reach a printed amount.
"""

from __future__ import annotations

import cn2an


def capital_amount(fen: int) -> str:
    """900000 -> '玖仟元整'; 1 -> '壹分'; 1000050 -> '壹万元伍角'."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amounts are integer fen, got {type(fen).__name__}")
    if fen < 0:
        raise ValueError("a payment amount cannot be negative")
    yuan, cents = divmod(fen, 100)
    return cn2an.an2cn(f"{yuan}.{cents:02d}", "rmb")


def figures(fen: int) -> str:
    """900000 -> '¥9,000.00' (integer arithmetic, grouped by thousands)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"
