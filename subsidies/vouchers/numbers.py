"""Voucher numbers: random, unique, readable aloud, with a check character.

Shape: ``DGV-2026-7K3Q-H9MW-XAZ`` — the prefix, the year of issue, ten random
characters and one check character, in Crockford's base 32 alphabet (no I, L, O or U,
so nothing reads as 1 or 0). The check character is Luhn mod 32 over the year and the
random part: it catches every single mistyped character and every swap of two
neighbours but one (0 with Z), so a mistyped number is refused before any lookup.
Ten random characters are 50 bits: among the 1.35 million vouchers of one year, two
equal numbers have a chance below one in a thousand, and the unique key refuses them anyway.
"""

from __future__ import annotations

import re

PREFIX = "DGV"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 10
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_N = len(ALPHABET)
# Crockford decoding: letters that look like digits read as those digits.
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(rf"^{PREFIX}(\d{{4}})([{ALPHABET}]{{{RANDOM_LENGTH + 1}}})$")
FORMAT_REASON = "a voucher number looks like DGV-2026-7K3Q-H9MW-XAZ"
CHECK_REASON = "the check character does not match: the number is mistyped"


def _luhn_sum(chars: str, double_first: bool) -> int:
    """Luhn mod N: from the right, every second value is doubled (digits of the
    product added in base N)."""
    total = 0
    double = double_first
    for ch in reversed(chars):
        addend = _VALUE[ch] * (2 if double else 1)
        total += addend // _N + addend % _N
        double = not double
    return total


def check_character(payload: str) -> str:
    """The character that makes `payload` + it pass the Luhn mod 32 check."""
    return ALPHABET[(_N - _luhn_sum(payload, double_first=True) % _N) % _N]


def has_valid_check(payload_with_check: str) -> bool:
    return _luhn_sum(payload_with_check, double_first=False) % _N == 0


def compose(year: int, random_part: str) -> str:
    """The formatted number for a year and ten characters of the alphabet."""
    if not (1000 <= year <= 9999) or len(random_part) != RANDOM_LENGTH:
        raise ValueError("a year of four digits and ten random characters")
    if any(ch not in _VALUE for ch in random_part):
        raise ValueError(f"random characters come from {ALPHABET}")
    body = random_part + check_character(f"{year}{random_part}")
    return f"{PREFIX}-{year}-{body[:4]}-{body[4:8]}-{body[8:]}"


def random_number(year: int, random_bytes: bytes) -> str:
    """A number from at least 7 random bytes (the caller supplies them: os.urandom)."""
    if len(random_bytes) < 7:
        raise ValueError("seven random bytes at least")
    value = int.from_bytes(random_bytes[:7], "big")
    chars = []
    for _ in range(RANDOM_LENGTH):
        value, digit = divmod(value, _N)
        chars.append(ALPHABET[digit])
    return compose(year, "".join(chars))


def parse(text: str) -> tuple[str | None, str | None]:
    """(the canonical number, None) or (None, the reason it is not one). Case, spaces
    and hyphens are ignored; O, I and L read as 0, 1 and 1."""
    compact = re.sub(r"[\s\-_]", "", text.upper())
    if not compact.startswith(PREFIX):
        return None, FORMAT_REASON
    compact = PREFIX + compact[len(PREFIX) :].translate(_FOLD)
    match = _SHAPE.match(compact)
    if match is None:
        return None, FORMAT_REASON
    year, body = match.groups()
    if not has_valid_check(year + body):
        return None, CHECK_REASON
    return f"{PREFIX}-{year}-{body[:4]}-{body[4:8]}-{body[8:]}", None
