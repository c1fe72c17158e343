"""Base for request bodies: unknown fields are an error, not silently dropped."""

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    def __post_init__(self) -> None:
        # No database accepts NUL inside text (PostgreSQL refuses it outright).
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"`{field}` must not contain NUL characters")


class Output(msgspec.Struct, frozen=True):
    """Base for response bodies."""
