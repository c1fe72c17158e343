"""Base for request bodies: unknown fields are an error, not silently dropped."""

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class Output(msgspec.Struct, frozen=True):
    pass
