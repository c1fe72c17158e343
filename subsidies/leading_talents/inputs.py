"""What the leading-talent calculators need per claim, read in a few set queries (never
one per claim). Claims name their award in `details` (award_id, instalment)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from registry.appraisals.tables import TalentAward
from registry.tables import Certificate, Employment

CHUNK = 5_000
REVOKED = "revoked"


async def _select_in(query_of: Any, ids: list[int], columns: list[str]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    unique = sorted(set(ids))
    for start in range(0, len(unique), CHUNK):
        rows.extend(await query_of(unique[start : start + CHUNK]).run())
    return pd.DataFrame(rows, columns=columns)


def _detail(claims: pd.DataFrame, key: str) -> pd.Series:
    return pd.to_numeric(
        pd.Series([d.get(key) if isinstance(d, dict) else None for d in claims["details"]]),
        errors="coerce",
    )


async def _awards(claims: pd.DataFrame) -> pd.DataFrame:
    """Per claim (in claims order): award_id, award_number, award_live, awarded_on,
    award_person, medal."""
    award_id = _detail(claims, "award_id")
    awards = (
        await _select_in(
            lambda ids: TalentAward.select(
                TalentAward.id,
                TalentAward.number,
                TalentAward.status,
                TalentAward.awarded_on,
                TalentAward.person,
                TalentAward.application.medal.as_alias("medal"),
            ).where(TalentAward.id.is_in(ids)),
            [int(a) for a in award_id.dropna()],
            ["id", "number", "status", "awarded_on", "person", "medal"],
        )
    ).set_index("id")
    found = awards.reindex(award_id.to_numpy())
    person = pd.to_numeric(claims["person_id"], errors="coerce").to_numpy(dtype=float)
    mine = found["person"].to_numpy(dtype=float) == person  # the award is this person's
    return pd.DataFrame(
        {
            "award_id": award_id.to_numpy(),
            "award_number": found["number"].to_numpy(dtype=object),
            "award_live": mine & (found["status"].to_numpy() != REVOKED),
            "awarded_on": pd.to_datetime(found["awarded_on"]).to_numpy(),
            "medal": found["medal"].to_numpy(dtype=object),
        }
    )


async def _best_levels(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The highest level (lowest number) of a valid certificate issued by the day."""
    certs = await _select_in(
        lambda ids: Certificate.select(
            Certificate.person, Certificate.level, Certificate.issued_on
        ).where(Certificate.person.is_in(ids) & (Certificate.status == "valid")),
        [int(p) for p in person if p == p],
        ["person", "level", "issued_on"],
    )
    rows = pd.DataFrame({"row": np.arange(len(person)), "person": person, "day": day})
    joined = rows.merge(certs.assign(person=certs["person"].astype(float)), on="person")
    joined = joined[pd.to_datetime(joined["issued_on"]) <= joined["day"]]
    best = joined.groupby("row")["level"].min()
    return best.reindex(np.arange(len(person))).to_numpy(dtype=float)


async def _employments(person: np.ndarray) -> pd.DataFrame:
    jobs = await _select_in(
        lambda ids: Employment.select(
            Employment.person, Employment.employer, Employment.started_on, Employment.ended_on
        ).where(Employment.person.is_in(ids)),
        [int(p) for p in person if p == p],
        ["person", "employer", "started_on", "ended_on"],
    )
    return jobs.assign(
        person=jobs["person"].astype(float),
        started_on=pd.to_datetime(jobs["started_on"]),
        ended_on=pd.to_datetime(jobs["ended_on"]),
    )


def _employed_on(rows: pd.DataFrame, jobs: pd.DataFrame) -> np.ndarray:
    """rows: row, person, day -> whether an employment covers the day."""
    joined = rows.merge(jobs, on="person")
    covers = (joined["started_on"] <= joined["day"]) & (
        joined["ended_on"].isna() | (joined["ended_on"] >= joined["day"])
    )
    hit = set(joined.loc[covers, "row"].tolist())
    return np.array([r in hit for r in rows["row"]], dtype=bool)


async def load_living(claims: pd.DataFrame) -> pd.DataFrame:
    index = pd.Index(claims["id"].to_numpy(dtype=np.int64), name="id")
    awards = await _awards(claims)
    person = pd.to_numeric(claims["person_id"], errors="coerce").to_numpy(dtype=float)
    day = pd.to_datetime(claims["basis_date"]).to_numpy()
    jobs = await _employments(person)
    rows = pd.DataFrame({"row": np.arange(len(person)), "person": person, "day": day})
    out = pd.DataFrame(index=index)
    out["person_id"] = person
    out["award_id"] = awards["award_id"].to_numpy()
    out["award_number"] = awards["award_number"].to_numpy()
    out["award_live"] = awards["award_live"].to_numpy(dtype=bool)
    out["instalment"] = _detail(claims, "instalment").fillna(0).to_numpy(dtype=np.int64)
    out["level"] = await _best_levels(person, day)
    out["medal"] = awards["medal"].to_numpy()
    out["employed_in_dongguan"] = _employed_on(rows, jobs)
    out["cap_key"] = [f"leading_talent_living:person:{int(p)}" if p == p else None for p in person]
    return out


async def load_introduction(claims: pd.DataFrame) -> pd.DataFrame:
    """started_on: the start of the talent's latest employment with the paid enterprise
    that began on or before the award date; employed_in_dongguan: an employment (with
    any Dongguan employer) covers the award date."""
    index = pd.Index(claims["id"].to_numpy(dtype=np.int64), name="id")
    awards = await _awards(claims)
    person = pd.to_numeric(claims["person_id"], errors="coerce").to_numpy(dtype=float)
    payee = pd.to_numeric(claims["payee_organisation_id"], errors="coerce").to_numpy(dtype=float)
    awarded = pd.to_datetime(awards["awarded_on"]).to_numpy()
    jobs = await _employments(person)
    rows = pd.DataFrame(
        {"row": np.arange(len(person)), "person": person, "payee": payee, "day": awarded}
    )
    with_payee = rows.merge(
        jobs.assign(payee=jobs["employer"].astype(float)), on=["person", "payee"]
    )
    with_payee = with_payee[with_payee["started_on"] <= with_payee["day"]]
    started = with_payee.groupby("row")["started_on"].max().reindex(np.arange(len(person)))
    out = pd.DataFrame(index=index)
    out["person_id"] = person
    out["award_id"] = awards["award_id"].to_numpy()
    out["award_number"] = awards["award_number"].to_numpy()
    out["award_live"] = awards["award_live"].to_numpy(dtype=bool)
    out["awarded_on"] = awarded
    out["started_on"] = started.to_numpy()
    out["employed_in_dongguan"] = _employed_on(rows[["row", "person", "day"]], jobs)
    out["cap_key"] = [
        f"leading_talent_introduction:person:{int(p)}" if p == p else None for p in person
    ]
    return out
