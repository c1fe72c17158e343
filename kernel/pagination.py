"""Opaque cursors for keyset pagination over integer primary keys."""

import base64
import binascii

from kernel.errors import InvalidInput

MAX_LIMIT = 200
MAX_ID = 2**31 - 1  # PostgreSQL integer keys


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        number = int(value)
        if prefix != "id" or not 0 <= number <= MAX_ID:
            raise ValueError(raw)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.single("cursor", "not a cursor returned by this list") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor only when the page came back full: there may be more."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None
