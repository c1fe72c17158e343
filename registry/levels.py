"""The five national vocational skill levels (lower number = higher level)."""

from __future__ import annotations

from enum import IntEnum

from kernel.labels import LEVEL


class Level(IntEnum):
    SENIOR_TECHNICIAN = 1
    TECHNICIAN = 2
    SENIOR_WORKER = 3
    INTERMEDIATE_WORKER = 4
    JUNIOR_WORKER = 5

    @property
    def zh(self) -> str:
        return _ZH[self]

    @property
    def en(self) -> str:
        return self.name.lower().replace("_", " ")

    @property
    def high_skilled(self) -> bool:
        """ "High-skilled" starts at senior worker (level 3)."""
        return self <= Level.SENIOR_WORKER


_ZH = {Level(code): name for code, name in LEVEL.items()}

# What a spreadsheet or a request may say for a level: 1-5, the Chinese or English name.
LEVEL_ALIASES: dict[str, int] = {
    **{str(int(level)): int(level) for level in Level},
    **{level.zh: int(level) for level in Level},
    **{level.en: int(level) for level in Level},
    **{level.name.lower(): int(level) for level in Level},
}


def parse_level(value: object) -> int | None:
    """1-5 from a number or a name; None when it is none of them."""
    text = str(value).strip().lower().removesuffix(".0")
    return LEVEL_ALIASES.get(text)


class Route:
    """How a certificate was obtained."""

    ENTERPRISE_SELF_EVALUATION = "enterprise_self_evaluation"
    SOCIAL_EVALUATION_ORGANISATION = "social_evaluation_organisation"
    TECHNICAL_SCHOOL = "technical_school"
    VOCATIONAL_QUALIFICATION = "vocational_qualification"
    COMPETITION = "competition"

    ALL = (
        ENTERPRISE_SELF_EVALUATION,
        SOCIAL_EVALUATION_ORGANISATION,
        TECHNICAL_SCHOOL,
        VOCATIONAL_QUALIFICATION,
        COMPETITION,
    )
