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
- person_paid_fen / person_paid_level / earlier_paid: the same across every occupation
  and level of the person (what the per-person upgrade basis deducts): what those claims
  hold, the highest level among them, and each of them as `claim:level:occupation:fen`,
  joined by `;` in claim order (empty when none); person_pending_level: the highest
  LOWER level pending in any occupation.
- cap_key: `skill_level:{person}`.

A run loads up to a million claims, so the reads go to the driver in bulk through
kernel.bulk_read (one query per table, the ids as one JSON array on SQLite and one
array parameter on PostgreSQL), not through Piccolo's row dicts. Columns
are selected as expressions (`+id`, `date || ''`), so SQLite's per-value converters stay
out of the way; dates arrive as ISO text on both engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kernel.bulk_read import fetch_frame
from kernel.db import unit_of_work
from subsidies.claims import calculation_store as store
from subsidies.skill_levels.amounts import PAID_STATUSES, PENDING_STATUSES, SCHEME
from subsidies.skill_levels.deductions import entry_texts

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
    "person_paid_fen",
    "person_paid_level",
    "person_pending_level",
    "earlier_paid",
    "cap_key",
)


async def _rows(sql: str, column: str, ids: list[int], names: list[str]) -> pd.DataFrame:
    """`sql` (SELECT ... FROM ... WHERE) for rows whose `column` is one of `ids`, as a
    frame of `names` ("name:kind", kernel.bulk_read)."""
    return await fetch_frame(
        f"{sql} {store.where_in_integers(column)}", [store.list_parameter(ids)], names
    )


def age_on(birth: pd.Series, day: pd.Series) -> pd.Series:
    """Whole years on `day` (a birthday on that day counts); NaN when either is unknown."""
    years = day.dt.year - birth.dt.year
    before_birthday = (day.dt.month < birth.dt.month) | (
        (day.dt.month == birth.dt.month) & (day.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype(float)).where(birth.notna() & day.notna())


def _ids(values: np.ndarray) -> list[int]:
    """The distinct known ids (NaN left out), sorted."""
    return sorted({int(v) for v in values.tolist() if v == v})


async def load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    async with unit_of_work():  # joins the run's; the bulk reads need a connection
        return await _load_inputs(claims)


async def _load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    index = (
        pd.Index(claims["id"].to_numpy(dtype=np.int64), name="id")
        if len(claims)
        else pd.Index([], name="id")
    )
    if len(claims) == 0:
        return pd.DataFrame({c: [] for c in COLUMNS}, index=index)
    out = pd.DataFrame(index=index)
    person = pd.to_numeric(claims["person_id"], errors="coerce").to_numpy()
    cert_id = pd.to_numeric(claims["certificate_id"], errors="coerce").to_numpy()
    out["person_id"] = person
    out["certificate_id"] = cert_id

    certs = await _rows(
        "SELECT +id, +person, occupation_code, +level, issued_on || '', status "
        "FROM certificate WHERE",
        "id",
        _ids(cert_id),
        ["id", "person", "occupation_code:text", "level", "issued_on:date", "status:text"],
    )
    joined = certs.set_index("id").reindex(cert_id.astype(float))
    same_person = joined["person"].to_numpy() == person.astype(float)
    valid = (joined["status"].to_numpy() == "valid") & same_person
    out["certificate_valid"] = valid
    out["occupation_code"] = joined["occupation_code"].to_numpy()
    out["level"] = np.where(valid, joined["level"].to_numpy(), np.nan)
    issued = joined["issued_on"].to_numpy(dtype="datetime64[ns]")
    out["issued_on"] = issued

    person_ids = _ids(person)
    people = await _rows(
        "SELECT +id, birth_date || '', hukou, +insured_months FROM person WHERE",
        "id",
        person_ids,
        ["id", "birth_date:date", "hukou:text", "insured_months"],
    )
    holder = people.set_index("id").reindex(person.astype(float))
    out["hukou"] = holder["hukou"].where(holder["hukou"].isin(["local", "non_local"])).to_numpy()
    out["insured_months"] = pd.to_numeric(holder["insured_months"], errors="coerce").to_numpy()
    out["age"] = age_on(holder["birth_date"].reset_index(drop=True), pd.Series(issued)).to_numpy()

    await _employment(out, person_ids)
    await _lower_levels(out, person_ids, index.to_numpy())
    out["cap_key"] = [f"{SCHEME}:{int(p)}" if p == p else None for p in person]
    return out[list(COLUMNS)]


async def _employment(out: pd.DataFrame, person_ids: list[int]) -> None:
    jobs = await _rows(
        "SELECT +person, started_on || '', ended_on || '', insured FROM employment WHERE",
        "person",
        person_ids,
        ["person", "started:date", "ended:date", "insured:bool"],
    )
    claims = pd.DataFrame(
        {
            "claim": out.index.to_numpy(),
            "person": out["person_id"].to_numpy(dtype=float),
            "day": out["issued_on"].to_numpy(),
        }
    )
    covering = claims.merge(jobs, on="person", how="inner")
    day = covering["day"]
    covers = (
        day.notna()
        & (covering["started"] <= day)
        & (covering["ended"].isna() | (covering["ended"] >= day))
    )
    covering = covering[covers]
    employed = covering.groupby("claim").size() > 0
    insured = covering.groupby("claim")["insured"].any()
    out["employed_in_dongguan"] = employed.reindex(out.index, fill_value=False).to_numpy(dtype=bool)
    out["insured"] = insured.reindex(out.index, fill_value=False).to_numpy(dtype=bool)


async def _lower_levels(out: pd.DataFrame, person_ids: list[int], in_run: np.ndarray) -> None:
    # The run's own claims are left out in the query, before their certificates are
    # joined: they are most of what these people have (0.13-0.19 s per 100,000 claims
    # on SQLite and 0.37-0.47 s on PostgreSQL with them, 0.09 s and 0.25 s without; on
    # PostgreSQL the ids arrive as a constant array, which it looks up by hash).
    held = await fetch_frame(
        f"SELECT +k.id, +k.person, {store.shown_status_and_amount('k')} + 0, "
        "c.occupation_code, +c.level FROM claim AS k JOIN certificate AS c ON c.id = k.certificate "
        "LEFT JOIN claim_calculation AS calc ON calc.claim = k.id "
        f"WHERE k.scheme = '{SCHEME}' AND k.status IN "
        f"{store.status_list((*PAID_STATUSES, *PENDING_STATUSES))} "
        f"AND {store.where_in_integers('k.person')} "
        f"AND NOT ({store.where_in_integers('k.id')})",
        [store.list_parameter(person_ids), store.list_parameter(in_run.tolist())],
        ["id", "person", "status:text", "amount_fen", "occupation_code:text", "level"],
    )
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
    _person_levels(out, claims, held)


def _person_levels(out: pd.DataFrame, claims: pd.DataFrame, held: pd.DataFrame) -> None:
    """The per-person figures: the run's claims are not in `held`, so what a person's
    other claims hold is the same for each of the person's claims here."""
    paid = held[held["status"].isin(PAID_STATUSES) & (held["amount_fen"].fillna(0) > 0)]
    paid = paid.sort_values("id")
    entries = entry_texts(
        paid["id"].to_numpy(dtype=np.int64),
        paid["level"].to_numpy(dtype=float),
        paid["occupation_code"].fillna("").to_numpy(dtype=object),
        paid["amount_fen"].to_numpy(dtype=np.int64),
    )
    per_person = (
        paid.assign(entry=entries)
        .groupby("person")
        .agg(fen=("amount_fen", "sum"), level=("level", "min"), listed=("entry", ";".join))
    )
    per_person.index = per_person.index.astype(float)
    of_claim = per_person.reindex(pd.Index(claims["person"].to_numpy(dtype=float)))
    out["person_paid_fen"] = of_claim["fen"].fillna(0).to_numpy(dtype=np.int64)
    out["person_paid_level"] = of_claim["level"].to_numpy(dtype=float)
    out["earlier_paid"] = of_claim["listed"].fillna("").to_numpy(dtype=object)
    waiting = claims.merge(held[held["status"].isin(PENDING_STATUSES)], on="person", how="inner")
    lower = waiting[waiting["level"] > waiting["claim_level"]]
    pending = lower.groupby("claim")["level"].min()
    out["person_pending_level"] = pending.reindex(out.index).to_numpy(dtype=float)
