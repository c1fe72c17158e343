"""Which days the automatic scan covers: the stretches whose version in force is
automatic (pure)."""

from datetime import date

from subsidies.policies import documents
from subsidies.skill_levels.automatic_periods import automatic_periods, in_force_periods


def version(number: int, start: date, end: date | None = None, automatic: bool = True):
    raw = {
        "scheme": "skill_level",
        "version": number,
        "title_zh": "技能等级",
        "title_en": "skill level",
        "source": "test",
        "effective_from": start,
        "payee": "person",
        "automatic": automatic,
        "parameters": {"cap_per_person_fen": 5_000_000, "amount_by_level_fen": {"3": 300_000}},
    }
    if end is not None:
        raw["effective_to"] = end
    return documents.parse(raw, f"v{number}")


def spans(periods):
    return [(p.policy.version, p.start, p.end) for p in periods]


def test_one_open_version():
    v1 = version(1, date(2022, 1, 1))
    assert spans(automatic_periods([v1], "skill_level")) == [(1, date(2022, 1, 1), None)]
    assert automatic_periods([v1], "internship") == []


def test_a_later_version_takes_over_on_its_date_and_a_manual_one_is_left_out():
    v1 = version(1, date(2022, 1, 1))
    v2 = version(2, date(2025, 1, 1), automatic=False)
    v3 = version(3, date(2026, 1, 1), date(2026, 12, 31))
    assert spans(in_force_periods([v1, v2, v3], "skill_level")) == [
        (1, date(2022, 1, 1), date(2024, 12, 31)),
        (2, date(2025, 1, 1), date(2025, 12, 31)),
        (3, date(2026, 1, 1), date(2026, 12, 31)),
        (2, date(2027, 1, 1), None),
    ]
    assert spans(automatic_periods([v1, v2, v3], "skill_level")) == [
        (1, date(2022, 1, 1), date(2024, 12, 31)),
        (3, date(2026, 1, 1), date(2026, 12, 31)),
    ]


def test_a_gap_between_versions_is_covered_by_none():
    v1 = version(1, date(2022, 1, 1), date(2022, 6, 30))
    v2 = version(2, date(2023, 1, 1))
    assert spans(automatic_periods([v1, v2], "skill_level")) == [
        (1, date(2022, 1, 1), date(2022, 6, 30)),
        (2, date(2023, 1, 1), None),
    ]
    period = automatic_periods([v1, v2], "skill_level")[0]
    assert period.covers(date(2022, 6, 30)) and not period.covers(date(2022, 7, 1))
