"""Chinese capital amounts (大写金额) as the People's Bank rules for filling in
vouchers write them: 壹拾 keeps its 壹, zeros inside the number read 零 once, 整
follows 元 and never 分, 零 stands between 元 and 分 when 角 is zero."""

import random
import re

import pytest

from certificates.capitals import capital_amount, figures

DIGITS = {ch: i for i, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def _section(text: str) -> int:
    """Below 万: digits times 拾/佰/仟, zeros ignored."""
    value, number = 0, 0
    for ch in text:
        if ch in DIGITS:
            number = DIGITS[ch]
        elif ch in SMALL:
            value += number * SMALL[ch]
            number = 0
    return value + number


def _below_yi(text: str) -> int:
    high, sep, low = text.partition("万")
    return _section(high) * 10_000 + _section(low) if sep else _section(text)


def parse(text: str) -> int:
    """Fen from a capital amount: an independent reader, for the round-trip sweep."""
    yuan_part, sep, cents_part = text.partition("元")
    if not sep:
        yuan_part, cents_part = "", text
    high, sep, low = yuan_part.partition("亿")
    yuan = _below_yi(high) * 100_000_000 + _below_yi(low) if sep else _below_yi(yuan_part)
    jiao = re.search("(.)角", cents_part)
    fen = re.search("(.)分", cents_part)
    return (
        yuan * 100
        + (DIGITS[jiao.group(1)] * 10 if jiao else 0)
        + (DIGITS[fen.group(1)] if fen else 0)
    )


@pytest.mark.parametrize(
    ("fen", "expected"),
    [
        (1, "壹分"),  # 0.01
        (1_000, "壹拾元整"),  # 10: 壹 before 拾 is never dropped
        (900_000, "玖仟元整"),  # 9,000
        (1_000_050, "壹万元伍角"),  # 10,000.50: nothing after 角
        (30_000_000, "叁拾万元整"),  # 300,000
        (100_000_000, "壹佰万元整"),  # 1,000,000
        (600_000_000, "陆佰万元整"),  # 6,000,000
    ],
)
def test_the_issues_amounts(fen, expected):
    assert capital_amount(fen) == expected


@pytest.mark.parametrize(
    ("fen", "expected"),
    [
        (140_950, "壹仟肆佰零玖元伍角"),  # ¥1,409.50: a zero in the middle is 零
        (600_714, "陆仟零柒元壹角肆分"),  # ¥6,007.14: several zeros, one 零
        (1_640_902, "壹万陆仟肆佰零玖元零贰分"),  # ¥16,409.02: 角 zero -> 元零贰分
        (32_504, "叁佰贰拾伍元零肆分"),  # ¥325.04
        (100_005, "壹仟元零伍分"),
        (10_010_000, "壹拾万零壹佰元整"),  # 万 and 仟 zero: 零 required
        (10_001_001, "壹拾万零壹拾元零壹分"),
        (10_000_000_100, "壹亿零壹元整"),
        (10_000, "壹佰元整"),
        (50, "伍角"),
        (0, "零元整"),
    ],
)
def test_zeros_follow_the_rules(fen, expected):
    assert capital_amount(fen) == expected


def test_optional_zero_is_left_out_as_the_rules_allow():
    # ¥107,000.53: the rules accept 壹拾万柒仟元零伍角叁分, 壹拾万零柒仟元伍角叁分, or
    # no 零 at all (each zero "may be written or left out" when 万/元 is zero).
    assert capital_amount(10_700_053) == "壹拾万柒仟元伍角叁分"
    assert capital_amount(168_032) == "壹仟陆佰捌拾元叁角贰分"


def test_round_trip_and_shape_over_many_amounts():
    rng = random.Random(6)
    amounts = [*range(0, 20_001), *(rng.randrange(0, 10**12) for _ in range(5_000))]
    amounts += [10**k for k in range(12)] + [10**k + 1 for k in range(12)]
    for fen in amounts:
        text = capital_amount(fen)
        assert parse(text) == fen, (fen, text)
        has_cents = "角" in text or "分" in text
        assert text.endswith("整") != has_cents, (fen, text)  # 整 exactly when no 角/分
        assert "零零" not in text, (fen, text)
        if fen:
            assert not text.startswith("零"), (fen, text)
        if fen % 100 and (fen // 10) % 10 == 0 and fen >= 100:
            assert "元零" in text, (fen, text)  # 角 zero between 元 and 分: 零 required
        assert not text.startswith("拾") and "零拾" not in text, (fen, text)  # 壹拾 whole


def test_refuses_what_is_not_integer_fen():
    with pytest.raises(TypeError):
        capital_amount(90.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        capital_amount(-1)


def test_figures():
    assert figures(900_000) == "¥9,000.00"
    assert figures(1) == "¥0.01"
    assert figures(123_456_789) == "¥1,234,567.89"
