"""Base for request bodies: unknown fields are an error, not silently dropped, and no
string anywhere in a body may hold a control character other than tab and line breaks."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import msgspec

# C0 controls but tab, line feed and carriage return, and DEL: invisible to whoever reads
# the record later, and PostgreSQL cannot store NUL at all.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_REASON = "must not contain control characters 不得包含控制字符"


def control_character_at(value: Any, path: str) -> str | None:
    """The path (`a.b[2]`) of a string within `value` holding a control character, the
    shallowest first, or None. A dict key holding one is reported as the dict's path.
    Iterative: a deeply nested JSON document must not exhaust the stack."""
    pending: deque[tuple[Any, str]] = deque([(value, path)])
    while pending:
        item, where = pending.popleft()
        if isinstance(item, str):
            if _CONTROL.search(item):
                return where
        elif isinstance(item, dict):
            if any(isinstance(k, str) and _CONTROL.search(k) for k in item):
                return where
            pending.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, msgspec.Struct):
            pending.extend(_struct_fields(item, where))
    return None


def _struct_fields(struct: msgspec.Struct, where: str) -> list[tuple[Any, str]]:
    names = zip(struct.__struct_fields__, struct.__struct_encode_fields__, strict=True)
    return [(getattr(struct, attr), f"{where}.{name}" if where else name) for attr, name in names]


class Input(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    def __post_init__(self) -> None:
        # msgspec adds where this struct sits in the body; the handler of validation
        # errors reads the field from the leading `name`.
        if (where := control_character_at(self, "")) is not None:
            raise ValueError(f"`{where}` {CONTROL_REASON}")


class Output(msgspec.Struct, frozen=True):
    """Base for response bodies."""
