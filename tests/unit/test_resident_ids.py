"""GB 11643 resident IDs: the scalar parse and the vectorised column check agree."""

import random
from datetime import date, timedelta

import pandas as pd
import pytest
from stdnum.cn import ric

from registry.resident_ids import (
    ID_BIRTH_DATE,
    ID_CHECKSUM,
    ID_FORMAT,
    ID_FUTURE_BIRTH,
    InvalidResidentId,
    check_column,
    compose,
    normalise,
    parse,
)

TODAY = date(2026, 6, 1)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def with_check(body17: str) -> str:
    """Any 17 digits (even an impossible date) with the check character that fits."""
    return body17 + ric.calc_check_digit(body17 + "0")


def code_of(raw: str) -> str:
    with pytest.raises(InvalidResidentId) as caught:
        parse(raw, TODAY)
    return caught.value.code


def ending_in_x() -> str:
    return next(
        n for n in (compose("441900", date(1991, 5, 17), s) for s in range(1000)) if n[-1] == "X"
    )


def test_a_good_number_gives_birth_date_and_sex():
    man = parse(compose("441900", date(1990, 3, 7), 123), TODAY)
    assert man.birth_date == date(1990, 3, 7) and man.sex == "M" and man.region_warning is None
    assert parse(compose("441900", date(1990, 3, 7), 124), TODAY).sex == "F"


def test_the_check_character_x_in_either_case():
    number = ending_in_x()
    assert parse(number, TODAY).number == number
    assert parse(number.lower(), TODAY).number == number  # stored upper case
    assert parse(f"  {number[:-1]}x ", TODAY).number == number


def test_malformed_numbers():
    good = compose("441900", date(1990, 3, 7), 123)
    for raw in ("", good[:17], good + "1", "A" + good[1:], good[:17] + "Y", "X" * 18):
        assert code_of(raw) == ID_FORMAT, raw


def test_a_wrong_check_character():
    good = compose("441900", date(1990, 3, 7), 123)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert code_of(wrong) == ID_CHECKSUM
    swapped = good[:6] + good[7] + good[6] + good[8:]  # transposed digits are caught
    assert swapped != good and code_of(swapped) == ID_CHECKSUM


@pytest.mark.parametrize(
    "birth",
    ["19900230", "19000229", "19901301", "19900001", "19900100", "18991231", "00000000"],
)
def test_impossible_birth_dates(birth):
    assert code_of(with_check(f"441900{birth}123")) == ID_BIRTH_DATE


def test_leap_days_that_exist_are_fine():
    assert parse(with_check("44190020000229123"), TODAY).birth_date == date(2000, 2, 29)
    assert parse(with_check("44190019000101123"), TODAY).birth_date == date(1900, 1, 1)


def test_a_birth_date_in_the_future():
    assert code_of(compose("441900", TODAY + timedelta(days=1), 1)) == ID_FUTURE_BIRTH
    assert parse(compose("441900", TODAY, 1), TODAY).birth_date == TODAY  # born today


def test_an_unknown_region_is_a_warning_not_a_rejection():
    unknown = parse(compose("990000", date(1990, 3, 7), 123), TODAY)
    assert unknown.birth_date == date(1990, 3, 7)
    assert unknown.region_warning and "990000" in unknown.region_warning


def test_an_unknown_county_of_a_known_prefecture_is_a_warning_too():
    # python-stdnum knows prefix 4419 (Dongguan) but not county 441999.
    assert parse(compose("441999", date(1990, 3, 7), 123), TODAY).region_warning


def test_fullwidth_digits_read_the_same_in_both_paths():
    # Spreadsheets typed with a Chinese input method often hold fullwidth digits;
    # python-stdnum (parse) folds them to ASCII.
    number = compose("441900", date(1990, 3, 7), 123)
    typed = number[:17].translate(FULLWIDTH) + number[17]
    assert parse(typed, TODAY).number == number
    assert _column([typed]) == [_scalar(typed)]


@pytest.mark.parametrize("spacing", ["441900 {rest}", "{all}\t", "\n{all}"])
def test_spaces_are_read_the_same_in_both_paths(spacing):
    number = compose("441900", date(1990, 3, 7), 123)
    raw = spacing.format(rest=number[6:], all=number)
    assert _scalar(raw) == _column([raw])[0], repr(raw)


# -- the column check agrees with parse --------------------------------------------

REGIONS = ("441900", "440300", "110101", "990000")


def _corrupt(rng: random.Random, number: str) -> str:
    kind = rng.randrange(14)
    if kind == 0:  # one digit changed
        i = rng.randrange(17)
        return number[:i] + str((int(number[i]) + rng.randrange(1, 10)) % 10) + number[i + 1 :]
    if kind == 1:  # wrong check character
        return number[:17] + rng.choice("0123456789X".replace(number[17], ""))
    if kind == 2:
        return number.lower()
    if kind == 3:  # month 13, with a fitting check character
        return with_check(number[:10] + "13" + number[12:17])
    if kind == 4:  # 30 February
        return with_check(number[:10] + "0230" + number[14:17])
    if kind == 5:
        return number[: rng.randrange(18)]
    if kind == 6:
        return number + str(rng.randrange(10))
    if kind == 7:  # a letter inside
        i = rng.randrange(17)
        return number[:i] + rng.choice("ABOx") + number[i + 1 :]
    if kind == 8:
        return f"  {number} "
    if kind == 9:  # a space inside
        i = rng.randrange(1, 18)
        return number[:i] + " " + number[i:]
    if kind == 10:  # fullwidth digits
        return number.translate(FULLWIDTH)
    if kind == 11:
        return number + rng.choice("\t\n")
    return number  # unchanged


def _random_number(rng: random.Random) -> str:
    birth = date(1890, 1, 1) + timedelta(days=rng.randrange(140 * 366))
    return compose(rng.choice(REGIONS), birth, rng.randrange(1000))


def _scalar(raw: str) -> tuple[str, object, str]:
    try:
        parsed = parse(raw, TODAY)
    except InvalidResidentId as exc:
        return exc.code, None, ""
    return "", parsed.birth_date, parsed.sex


def _column(raws: list[str]) -> list[tuple[str, object, str]]:
    checked = check_column(pd.Series(raws), TODAY)
    births = [None if pd.isna(b) else pd.Timestamp(b).date() for b in checked.birth_date]
    return list(zip(checked.error, births, map(str, checked.sex), strict=True))


def test_check_column_agrees_with_parse_on_random_corrupted_numbers():
    rng = random.Random(11643)
    raws = [_corrupt(rng, _random_number(rng)) for _ in range(2000)]
    column = _column(raws)
    disagreements = [
        (raw, _scalar(raw), col)
        for raw, col in zip(raws, column, strict=True)
        if _scalar(raw) != col
    ]
    assert not disagreements, disagreements[:5]
    codes = {c[0] for c in column}
    # The sample reaches every outcome, so agreement means something.
    assert codes == {"", ID_FORMAT, ID_CHECKSUM, ID_BIRTH_DATE, ID_FUTURE_BIRTH}


def test_check_column_normalises_like_the_single_rule():
    """The column keeps the text of plain numbers apart from the rest (full-width
    digits, whitespace of any kind, a lower-case x): both must come out as normalise()
    makes them, in their own rows."""
    rng = random.Random(18)
    raws = [_corrupt(rng, _random_number(rng)) for _ in range(2000)]
    raws += ["\u30004419001990\t0517 005x", "４４１９００１９９００５１７００５Ｘ", "", "x", " "]
    assert check_column(pd.Series(raws), TODAY).numbers.tolist() == [normalise(r) for r in raws]
