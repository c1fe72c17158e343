"""Resident ID numbers (GB 11643-1999): one number at a time, and whole columns at once.

python-stdnum (stdnum.cn.ric) is the reference for the check character, the birth date
and the region table. The column check is the same rule in numpy, for imports of a
million rows; tests hold the two to agreeing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent, ValidationError

EARLIEST_BIRTH = date(1900, 1, 1)

# Error codes, shared with the row-error catalogue of imports.
ID_FORMAT = "ID_FORMAT"
ID_CHECKSUM = "ID_CHECKSUM"
ID_BIRTH_DATE = "ID_BIRTH_DATE"
ID_FUTURE_BIRTH = "ID_FUTURE_BIRTH"

REASONS = {
    ID_FORMAT: "must be 18 characters: 17 digits and a check character 0-9 or X",
    ID_CHECKSUM: "the check character does not match (GB 11643)",
    ID_BIRTH_DATE: "the birth date encoded in it (characters 7-14) is not a real date",
    ID_FUTURE_BIRTH: "the birth date encoded in it is in the future",
}


class InvalidResidentId(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(REASONS[code])
        self.code = code
        self.reason = REASONS[code]


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # "M" or "F": the 17th digit, odd for men
    region_warning: str | None  # set when stdnum's table does not know the region code


def normalise(raw: str) -> str:
    return ric.compact(raw).upper()


def parse(raw: str, today: date) -> ResidentId:
    """Validates a resident ID and derives birth date and sex. An unknown region code
    is not an error: it is returned as a warning for an officer to confirm."""
    number = normalise(raw)
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise InvalidResidentId(ID_FORMAT)
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidResidentId(ID_CHECKSUM)
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        raise InvalidResidentId(ID_BIRTH_DATE) from None
    if birth < EARLIEST_BIRTH:
        raise InvalidResidentId(ID_BIRTH_DATE)
    if birth > today:
        raise InvalidResidentId(ID_FUTURE_BIRTH)
    return ResidentId(
        number=number,
        birth_date=birth,
        sex="M" if int(number[16]) % 2 else "F",
        region_warning=region_warning(number[:6], birth.year),
    )


@lru_cache(maxsize=8192)
def region_warning(region: str, birth_year: int) -> str | None:
    """None when python-stdnum knows the region code for that birth year."""
    probe = f"{region}{birth_year:04d}0101000"
    try:
        ric.get_birth_place(probe + ric.calc_check_digit(probe + "0"))
    except InvalidComponent:
        return f"region code {region} is not in the national table for {birth_year}"
    return None


def compose(region: str, birth: date, sequence: int) -> str:
    """A well-formed number (for demo data, tests and benchmarks): region, birth date,
    a three-digit sequence (odd for men) and the computed check character."""
    body = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


# -- whole columns -----------------------------------------------------------------

_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


@dataclass
class CheckedIds:
    numbers: pd.Series  # normalised (upper case, no spaces)
    error: pd.Series  # "" for a valid number, else one of the codes above
    birth_date: pd.Series  # datetime64, NaT where invalid
    sex: pd.Series  # "M" / "F" / ""


def check_column(raw: pd.Series, today: date) -> CheckedIds:
    """The rule of `parse` over a whole column, vectorised (millions of rows a second)."""
    numbers = raw.astype("str").str.replace(" ", "", regex=False).str.upper()
    shaped = numbers.str.fullmatch(r"\d{17}[\dX]").fillna(False).to_numpy(dtype=bool)
    error = np.full(len(numbers), "", dtype=object)
    error[~shaped] = ID_FORMAT
    birth = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]")
    sex = np.full(len(numbers), "", dtype=object)
    if shaped.any():
        good = numbers[shaped]
        # 18 ASCII bytes per number, as a matrix of digit values.
        buf = np.frombuffer("".join(good.tolist()).encode("ascii"), dtype=np.uint8)
        matrix = buf.reshape(-1, 18)
        digits = matrix[:, :17].astype(np.int64) - 48
        expected = _CHECK_CHARS[(digits @ _WEIGHTS) % 11]
        checksum_ok = expected == matrix[:, 17]
        parsed = pd.to_datetime(good.str.slice(6, 14), format="%Y%m%d", errors="coerce")
        parsed_np = parsed.to_numpy()
        date_ok = ~pd.isna(parsed_np)
        in_range = date_ok & (parsed_np >= np.datetime64(EARLIEST_BIRTH))
        future = date_ok & (parsed_np > np.datetime64(today))
        codes = np.where(
            ~checksum_ok,
            ID_CHECKSUM,
            np.where(~in_range, ID_BIRTH_DATE, np.where(future, ID_FUTURE_BIRTH, "")),
        ).astype(object)
        error[shaped] = codes
        valid_positions = np.flatnonzero(shaped)[codes == ""]
        birth.iloc[valid_positions] = parsed_np[codes == ""]
        sex[valid_positions] = np.where(digits[codes == "", 16] % 2 == 1, "M", "F")
    return CheckedIds(
        numbers=numbers,
        error=pd.Series(error, index=numbers.index),
        birth_date=birth,
        sex=pd.Series(sex, index=numbers.index),
    )
