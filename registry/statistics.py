"""Skills statistics by town x level x year (pure: a DataFrame in, tables out).

The input has one row per valid certificate: person_id, town, level (1-5), year (of
issue). "High-skilled" means level 3 (senior worker) or better, as DOMAIN.md says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from registry.levels import Level
from registry.towns import TOWNS

INPUT_COLUMNS = ("person_id", "town", "level", "year")
UNKNOWN_TOWN = "未知"  # a certificate whose holder and issuer both lack a town

_COUNTS = ["certificates", "people", "high_skilled_certificates", "high_skilled_share"]


@dataclass(frozen=True)
class SkillsTables:
    # town, year, level, certificates, people (combinations with no certificate left out)
    by_town_level_year: pd.DataFrame
    # town, year, certificates, people, high_skilled_certificates, high_skilled_share
    by_town_year: pd.DataFrame
    # year, and the same counts for the whole city
    by_year: pd.DataFrame
    # the same counts over every town and year
    total: dict[str, Any]


def share_percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole as a percentage with one decimal, rounded half up, in integers so
    that 1/16 is 6.3 and not the 6.2 binary floating point would give."""
    tenths = (part.astype("int64") * 2000 + whole.astype("int64")) // (whole.astype("int64") * 2)
    return tenths / 10


def _summarise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(keys, sort=False, observed=True)
    out = grouped.agg(
        certificates=("person_id", "size"),
        people=("person_id", "nunique"),
        high_skilled_certificates=("high", "sum"),
    ).reset_index()
    out["high_skilled_certificates"] = out["high_skilled_certificates"].astype("int64")
    out["high_skilled_share"] = share_percent(out["high_skilled_certificates"], out["certificates"])
    return out


def _town_order(towns: pd.Series) -> pd.Series:
    """Towns in DOMAIN.md's order (the order the bureau reports them), others after."""
    rank = {town: i for i, town in enumerate(TOWNS)}
    return towns.map(lambda t: rank.get(t, len(TOWNS)))


def skills(rows: pd.DataFrame) -> SkillsTables:
    missing = [c for c in INPUT_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"skills statistics need the columns {missing}")
    frame = pd.DataFrame(
        {
            "person_id": rows["person_id"].astype("int64"),
            "town": rows["town"].fillna(UNKNOWN_TOWN).astype(str),
            "level": rows["level"].astype("int64"),
            "year": rows["year"].astype("int64"),
        }
    )
    frame["high"] = frame["level"] <= int(Level.SENIOR_WORKER)

    detail = (
        frame.groupby(["town", "year", "level"], sort=False)
        .agg(certificates=("person_id", "size"), people=("person_id", "nunique"))
        .reset_index()
    )
    detail = _sorted(detail, ["town", "year", "level"])
    by_town_year = _sorted(_summarise(frame, ["town", "year"]), ["town", "year"])
    by_year = _summarise(frame, ["year"]).sort_values("year", kind="stable")
    certificates = len(frame)
    high = int(frame["high"].sum())
    total = {
        "certificates": certificates,
        "people": int(frame["person_id"].nunique()),
        "high_skilled_certificates": high,
        "high_skilled_share": float(
            share_percent(pd.Series([high]), pd.Series([certificates])).iloc[0]
        )
        if certificates
        else None,
    }
    return SkillsTables(
        by_town_level_year=detail.reset_index(drop=True),
        by_town_year=by_town_year.reset_index(drop=True),
        by_year=by_year[["year", *_COUNTS]].reset_index(drop=True),
        total=total,
    )


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    ordered = frame.assign(_town_rank=_town_order(frame["town"]))
    by = ["_town_rank", *keys]
    return ordered.sort_values(by, kind="stable").drop(columns="_town_rank")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (for JSON and spreadsheets)."""
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
