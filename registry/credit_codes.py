"""Building valid unified social credit codes (GB 32100) for demo and test data.
Validation itself is python-stdnum's cn.uscc."""

from stdnum.cn import uscc

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def _org_code(body8: str) -> str:
    remainder = 11 - sum(int(c) * w for c, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True)) % 11
    return body8 + {10: "X", 11: "0"}.get(remainder, str(remainder))


def make_credit_code(serial: int, region: str = "441900", kind: str = "91") -> str:
    """An enterprise ("91") registered in Dongguan (441900) with organisation serial."""
    first17 = kind + region + _org_code(f"{serial:08d}")
    return first17 + uscc.calc_check_digit(first17)
