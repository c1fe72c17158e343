"""Masking of resident ID numbers (GB 11643) wherever they leave the system."""

import re

# 17 digits + check digit or X, not embedded in a longer run of digits.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_id_number(value: str) -> str:
    """First 4 and last 4 characters shown, the rest starred."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_account_number(value: str) -> str:
    """A bank account as a printed list shows it: like an ID, first and last four."""
    return mask_id_number(value)


def mask_ids_in_text(text: str) -> str:
    """Masks every resident-ID-shaped token inside free text (log lines)."""
    return _RESIDENT_ID.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)


def mask_name(name: str) -> str:
    """A person's name where the public sees it (the verify page): the first character
    only (欧阳晓燕 -> 欧***)."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""
