"""What the skill-level calculator needs for each claim, read from the registry and the
claims in a few set queries per chunk (never one query per claim).

Per claim (indexed by claim id):
- level, occupation_code, issued_on: from the claim's certificate; certificate_valid is
  False when there is none, it is revoked, or it belongs to someone else.
- employed_in_dongguan / insured: an Employment row of the person covers the issue date
  (started_on <= day and (no end or ended_on >= day)); every organisation in the
  registry is a Dongguan one. insured: one of those employers insures them.
- insured_months, hukou: the person's record; age: whole years on the issue date.
- lower_paid_fen / lower_paid_level: what other live claims of this scheme with an
  amount (calculated, approved, on hold, paid) hold for LOWER levels of the same person
  and occupation, and the highest such level. Claims in this run are left out: the
  calculator counts them itself, so re-running a run gives the same amounts.
- lower_pending_level: the highest LOWER level of the same person and occupation whose
  live claim has no amount yet (proposed or submitted; not in this run), or NaN.
- cap_key: `skill_level:{person}`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from registry.tables import Certificate, Employment, Person
from subsidies.claims.tables import Claim
from subsidies.skill_levels.amounts import PAID_STATUSES, PENDING_STATUSES, SCHEME

CHUNK = 5_000  # ids per IN list: far under both engines' parameter limits

COLUMNS = (
    "person_id",
    "certificate_id",
    "occupation_code",
    "level",
    "issued_on",
    "certificate_valid",
    "employed_in_dongguan",
    "insured",
    "insured_months",
    "hukou",
    "age",
    "lower_paid_fen",
    "lower_paid_level",
    "lower_pending_level",
    "cap_key",
)


def _chunks(values: list[int]) -> list[list[int]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


async def _select_in(query_of: Any, ids: list[int]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(ids))):
        rows.extend(await query_of(chunk).run())
    return pd.DataFrame(rows)


def _frame(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return rows if len(rows) else pd.DataFrame({c: [] for c in columns})


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def age_on(birth: pd.Series, day: pd.Series) -> pd.Series:
    """Whole years on `day` (a birthday on that day counts); NaN when either is unknown."""
    years = day.dt.year - birth.dt.year
    before_birthday = (day.dt.month < birth.dt.month) | (
        (day.dt.month == birth.dt.month) & (day.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype(float)).where(birth.notna() & day.notna())


async def load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    index = (
        pd.Index(claims["id"].astype(np.int64), name="id")
        if len(claims)
        else pd.Index([], name="id")
    )
    out = pd.DataFrame(index=index)
    if len(claims) == 0:
        return pd.DataFrame({c: [] for c in COLUMNS}, index=index)
    person = pd.to_numeric(claims["person_id"], errors="coerce").to_numpy()
    cert_id = pd.to_numeric(claims["certificate_id"], errors="coerce").to_numpy()
    out["person_id"] = person
    out["certificate_id"] = cert_id

    certs = _frame(
        await _select_in(
            lambda ids: Certificate.select(
                Certificate.id,
                Certificate.person,
                Certificate.occupation_code,
                Certificate.level,
                Certificate.issued_on,
                Certificate.status,
            ).where(Certificate.id.is_in(ids)),
            [int(c) for c in cert_id if c == c],
        ),
        ["id", "person", "occupation_code", "level", "issued_on", "status"],
    ).set_index("id")
    joined = certs.reindex(cert_id)
    same_person = joined["person"].to_numpy(dtype=float) == person
    valid = (joined["status"].to_numpy() == "valid") & same_person
    out["certificate_valid"] = valid
    out["occupation_code"] = joined["occupation_code"].to_numpy()
    out["level"] = np.where(valid, joined["level"].to_numpy(dtype=float), np.nan)
    issued = _dates(joined["issued_on"]).to_numpy()
    out["issued_on"] = issued

    person_ids = [int(p) for p in person if p == p]
    people = _frame(
        await _select_in(
            lambda ids: Person.select(
                Person.id, Person.birth_date, Person.hukou, Person.insured_months
            ).where(Person.id.is_in(ids)),
            person_ids,
        ),
        ["id", "birth_date", "hukou", "insured_months"],
    ).set_index("id")
    holder = people.reindex(person)
    out["hukou"] = holder["hukou"].where(holder["hukou"].isin(["local", "non_local"])).to_numpy()
    out["insured_months"] = pd.to_numeric(holder["insured_months"], errors="coerce").to_numpy()
    out["age"] = age_on(
        _dates(holder["birth_date"]).reset_index(drop=True), pd.Series(issued)
    ).to_numpy()

    await _employment(out, person_ids)
    await _lower_levels(out, person_ids, claims["id"].astype(np.int64).tolist())
    out["cap_key"] = [f"{SCHEME}:{int(p)}" if p == p else None for p in person]
    return out[list(COLUMNS)]


async def _employment(out: pd.DataFrame, person_ids: list[int]) -> None:
    jobs = _frame(
        await _select_in(
            lambda ids: Employment.select(
                Employment.person,
                Employment.started_on,
                Employment.ended_on,
                Employment.insured,
            ).where(Employment.person.is_in(ids)),
            person_ids,
        ),
        ["person", "started_on", "ended_on", "insured"],
    )
    claims = pd.DataFrame(
        {
            "claim": out.index.to_numpy(),
            "person": out["person_id"].to_numpy(dtype=float),
            "day": out["issued_on"].to_numpy(),
        }
    )
    jobs = jobs.assign(person=jobs["person"].astype(float))
    covering = claims.merge(jobs, on="person", how="inner")
    started = _dates(covering["started_on"])
    ended = _dates(covering["ended_on"])
    covers = (
        covering["day"].notna()
        & (started <= covering["day"])
        & (ended.isna() | (ended >= covering["day"]))
    )
    covering = covering[covers]
    employed = covering.groupby("claim").size() > 0
    insured = (
        covering.assign(insured=covering["insured"].astype(bool)).groupby("claim")["insured"].any()
    )
    out["employed_in_dongguan"] = employed.reindex(out.index, fill_value=False).to_numpy(dtype=bool)
    out["insured"] = insured.reindex(out.index, fill_value=False).to_numpy(dtype=bool)


async def _lower_levels(out: pd.DataFrame, person_ids: list[int], in_run: list[int]) -> None:
    held = _frame(
        await _select_in(
            lambda ids: Claim.select(
                Claim.id,
                Claim.person,
                Claim.status,
                Claim.amount_fen,
                Claim.certificate.occupation_code.as_alias("occupation_code"),
                Claim.certificate.level.as_alias("level"),
            ).where(
                Claim.person.is_in(ids)
                & (Claim.scheme == SCHEME)
                & Claim.status.is_in([*PAID_STATUSES, *PENDING_STATUSES])
            ),
            person_ids,
        ),
        ["id", "person", "status", "amount_fen", "occupation_code", "level"],
    )
    held = held[~held["id"].isin(in_run)]
    held = held.assign(person=held["person"].astype(float), level=held["level"].astype(float))
    claims = pd.DataFrame(
        {
            "claim": out.index.to_numpy(),
            "person": out["person_id"].to_numpy(dtype=float),
            "occupation_code": out["occupation_code"].to_numpy(),
            "claim_level": out["level"].to_numpy(),
        }
    )
    pairs = claims.merge(held, on=["person", "occupation_code"], how="inner")
    lower = pairs[pairs["level"] > pairs["claim_level"]]
    paid = lower[lower["status"].isin(PAID_STATUSES) & (lower["amount_fen"].fillna(0) > 0)]
    summed = paid.groupby("claim").agg(fen=("amount_fen", "sum"), level=("level", "min"))
    pending = lower[lower["status"].isin(PENDING_STATUSES)].groupby("claim")["level"].min()
    out["lower_paid_fen"] = summed["fen"].reindex(out.index, fill_value=0).to_numpy(dtype=np.int64)
    out["lower_paid_level"] = summed["level"].reindex(out.index).to_numpy(dtype=float)
    out["lower_pending_level"] = pending.reindex(out.index).to_numpy(dtype=float)
