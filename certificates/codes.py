"""Verification codes printed on documents (pure).

16 characters of Crockford's base32 (digits and capitals without I, L, O, U), shown in
four groups: `7KQ2-M9DX-4HT0-VB3N`. That is 80 random bits from the OS's CSPRNG: with
the public verify endpoint rate-limited, guessing a code is out of reach, and it is
still short enough to type from paper. Typing is forgiving: case, spaces and hyphens
do not matter, and O/I/L read as 0/1/1.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return grouped(raw)


def grouped(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(typed: str) -> str | None:
    """The stored form of a typed code, or None when it cannot be one."""
    raw = "".join(typed.split()).replace("-", "").upper().translate(_READ_AS)
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return grouped(raw)
