"""Skills statistics (pure): a small table worked out by hand."""

import pandas as pd
import pytest

from registry.statistics import UNKNOWN_TOWN, records, share_percent, skills

# person_id, town, level, year. Person 1 holds two certificates in one town and year;
# person 4 one in 虎门 and one in 长安 (counted once in the city's figures); person 7's
# holder and issuer have no town.
ROWS = pd.DataFrame(
    [
        (1, "虎门", 3, 2022),
        (1, "虎门", 5, 2022),
        (2, "虎门", 4, 2022),
        (4, "虎门", 3, 2022),
        (3, "虎门", 1, 2023),
        (4, "长安", 2, 2022),
        (5, "长安", 5, 2022),
        (6, "长安", 5, 2022),
        (7, None, 4, 2023),
    ],
    columns=["person_id", "town", "level", "year"],
)


def test_town_by_level_by_year_counts_certificates_and_distinct_people():
    table = records(skills(ROWS).by_town_level_year)
    # Towns in DOMAIN.md's order (虎门 before 长安), an unknown town last.
    assert [tuple(r.values()) for r in table] == [
        ("虎门", 2022, 3, 2, 2),
        ("虎门", 2022, 4, 1, 1),
        ("虎门", 2022, 5, 1, 1),
        ("虎门", 2023, 1, 1, 1),
        ("长安", 2022, 2, 1, 1),
        ("长安", 2022, 5, 2, 2),
        (UNKNOWN_TOWN, 2023, 4, 1, 1),
    ]
    assert list(table[0]) == ["town", "year", "level", "certificates", "people"]


def test_town_by_year_has_the_high_skilled_share():
    table = records(skills(ROWS).by_town_year)
    assert list(table[0]) == [
        "town",
        "year",
        "certificates",
        "people",
        "high_skilled_certificates",
        "high_skilled_share",
    ]
    assert [tuple(r.values()) for r in table] == [
        ("虎门", 2022, 4, 3, 2, 50.0),  # levels 3, 5, 4, 3 held by persons 1, 1, 2, 4
        ("虎门", 2023, 1, 1, 1, 100.0),
        ("长安", 2022, 3, 3, 1, 33.3),
        (UNKNOWN_TOWN, 2023, 1, 1, 0, 0.0),
    ]


def test_city_totals_count_a_person_once_across_towns():
    tables = skills(ROWS)
    assert [tuple(r.values()) for r in records(tables.by_year)] == [
        (2022, 7, 5, 3, 42.9),  # persons 1, 2, 4, 5, 6; 3 of 7 high-skilled
        (2023, 2, 2, 1, 50.0),
    ]
    assert tables.total == {
        "certificates": 9,
        "people": 7,
        "high_skilled_certificates": 4,
        "high_skilled_share": 44.4,
    }


def test_shares_round_half_up_to_one_decimal():
    shares = share_percent(pd.Series([1, 2, 1, 0, 7]), pd.Series([16, 3, 8, 5, 7]))
    assert shares.tolist() == [6.3, 66.7, 12.5, 0.0, 100.0]


def test_no_certificates_gives_empty_tables_and_no_share():
    tables = skills(ROWS.iloc[0:0])
    assert tables.by_town_level_year.empty and tables.by_town_year.empty
    assert tables.by_year.empty
    assert tables.total == {
        "certificates": 0,
        "people": 0,
        "high_skilled_certificates": 0,
        "high_skilled_share": None,
    }


def test_a_missing_column_is_refused():
    with pytest.raises(ValueError, match="year"):
        skills(ROWS.drop(columns="year"))
