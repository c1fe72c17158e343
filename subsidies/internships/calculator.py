"""The internship subsidy calculator (contract: subsidies/schemes.py).

One claim = one reported month of one placement under a registered programme. The
programme's rate, months and cap apply where they are below the policy version's; each
row is priced with the lower of the two. Per row:

1. The month's amount before caps, by the policy's proration rule (parameters.proration):
   - calendar_days: monthly_rate_fen x days_attended / days_in_month, rounded DOWN to the
     fen (integer floor division), so a full month pays exactly the rate;
   - whole_months: a full month pays the rate, a partial month 0;
   - half_or_full: 15 days or more pay the rate, fewer pay half of it (rounded down to
     the fen when the rate is odd).
2. The month limit: the intern's months in a registered programme (`programme_id`) are
   counted across every host:
   month number = `months_held` (from `load_inputs`: the intern's other live claims in
   the programme that hold a month, see months_held) + the row's rank among this run's
   eligible rows of the same intern and programme with an amount before the cap (in
   input order: claim id, the order the months were reported in). A month numbered
   above max_months pays 0, so at most max_months months pay whatever order they are
   reported in. A month that pays nothing (not insured, or a partial month under
   whole_months) does not use up one of the intern's months, and neither does a month
   the run finds ineligible (the run never passes it here).
3. The cap per intern per programme (cap_per_intern_fen) across every host and claim:
   `already_fen` (what other live claims of the same cap_key hold, added by the run)
   plus this run's earlier rows of the same intern, in input order, then
   subsidies.calculators.caps.apply_cap grants what is left.

Eligibility (the policy's conditions, e.g. insured_in_period) is judged by the run
(subsidies.claims.evaluation) before this calculator sees a row, so a failing month never
takes a share of the cap.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from kernel.bulk_read import fetch_frame
from kernel.collector import collector_paused
from kernel.db import unit_of_work
from subsidies.calculators import traces
from subsidies.calculators.caps import apply_cap
from subsidies.claims import calculation_store as store
from subsidies.claims import statuses
from subsidies.internships import rules
from subsidies.policies.documents import InternshipParameters, Policy
from subsidies.schemes import SchemeCalculator, register

Step = dict[str, str]
HALF_MONTH_DAYS = 15


# -- money and text --------------------------------------------------------------------


def yuan(fen: int) -> str:
    """3000 yuan as "3,000"; 1935.48 yuan as "1,935.48" (exact: integer fen)."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def _step(zh: str, en: str) -> Step:
    return {"zh": zh, "en": en}


# -- the pure calculation --------------------------------------------------------------


def base_amounts(
    days_attended: np.ndarray, days_in_month: np.ndarray, p: InternshipParameters
) -> np.ndarray:
    """The month's amount before the month limit and the cap (int64 fen)."""
    dim = np.asarray(days_in_month, dtype=np.int64)
    days = np.clip(np.asarray(days_attended, dtype=np.int64), 0, dim)
    rate = np.int64(p.monthly_rate_fen)
    if p.proration == "calendar_days":
        return rate * days // dim  # floor: rounded down to the fen
    if p.proration == "whole_months":
        return np.where(days >= dim, rate, np.int64(0))
    return np.where(days >= HALF_MONTH_DAYS, rate, rate // 2)  # half_or_full


TERMS = ("monthly_rate_fen", "max_months", "cap_per_intern_fen")


def calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Amount (int64 fen) and trace per row of `inputs` (see the module docstring)."""
    if len(inputs) == 0 or not set(TERMS) <= set(inputs.columns):
        return _calculate(inputs, policy)
    p: InternshipParameters = policy.parameters
    # A programme's terms bind below the policy's; a run holds a few distinct ones, most
    # often one (priced on the whole frame, without copying it).
    lower = {t: np.minimum(inputs[t].to_numpy(dtype=np.int64), getattr(p, t)) for t in TERMS}
    if all((column == column[0]).all() for column in lower.values()):
        return _calculate(inputs, _priced(policy, {t: c[0] for t, c in lower.items()}))
    groups = pd.DataFrame(lower).groupby(list(TERMS), sort=False).indices
    parts = [
        _calculate(inputs.iloc[positions], _priced(policy, dict(zip(TERMS, values, strict=True))))
        for values, positions in groups.items()
    ]
    return pd.concat(parts).reindex(inputs.index)


def _priced(policy: Policy, terms: dict[str, Any]) -> Policy:
    parameters = msgspec.structs.replace(policy.parameters, **{t: int(v) for t, v in terms.items()})
    return dataclasses.replace(policy, parameters=parameters)


def _calculate(inputs: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    p: InternshipParameters = policy.parameters
    n = len(inputs)
    out = pd.DataFrame(index=inputs.index)
    if n == 0:
        out["amount_fen"] = np.zeros(0, dtype=np.int64)
        out["trace"] = pd.Series([], index=inputs.index, dtype=object)
        return out
    dim = inputs["days_in_month"].to_numpy(dtype=np.int64)
    days = np.clip(inputs["days_attended"].to_numpy(dtype=np.int64), 0, dim)
    base = base_amounts(days, dim, p)
    already = (
        inputs["already_fen"].fillna(0).to_numpy(dtype=np.int64)
        if "already_fen" in inputs.columns
        else np.zeros(n, dtype=np.int64)
    )
    # cap_key is "internship:{person_id}:programme-{programme_id}": grouping by the two is
    # the same and avoids hashing a million strings.
    programme_codes, programme_ids = inputs["programme_id"].factorize(use_na_sentinel=False)
    names = inputs["programme"].groupby(programme_codes).first()
    programmes = names.reindex(range(len(programme_ids))).to_numpy(dtype=object)
    cap_codes, _ = pd.factorize(
        inputs["person_id"].to_numpy(dtype=np.int64) * len(programme_ids) + programme_codes
    )
    # Months are numbered, and the cap fills, in input order (claim id: the order they
    # were reported in) within each intern's programme, as across runs.
    order = np.lexsort((np.arange(n), cap_codes))
    sorted_codes = cap_codes[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_codes[1:] != sorted_codes[:-1]
    # Only a month with something to pay takes a place: its number counts the paying
    # months before it in its group; one that pays nothing gets the next number.
    paying = (base[order] > 0).astype(np.int64)
    paid_before = np.cumsum(paying) - paying
    group_offset = np.maximum.accumulate(np.where(starts, paid_before, 0))
    month_number = np.empty(n, dtype=np.int64)
    month_number[order] = paid_before - group_offset + 1
    month_number += inputs["months_held"].to_numpy(dtype=np.int64)
    within = month_number <= p.max_months
    uncapped = np.where(within, base, np.int64(0))
    capped_sorted, held_sorted = apply_cap(
        uncapped[order], cap_codes[order], already[order], p.cap_per_intern_fen
    )
    amount = np.empty(n, dtype=np.int64)
    held = np.empty(n, dtype=np.int64)
    amount[order] = capped_sorted
    held[order] = held_sorted
    out["amount_fen"] = amount
    # One column of step objects per step; rows share the objects, not the lists.
    steps = np.empty((n, 4), dtype=object)
    steps[:, 0] = traces.objects([_policy_step(policy)])[np.zeros(n, dtype=np.int64)]
    steps[:, 1] = traces.factorized(lambda d, m: _base_step(d, m, p), days, dim)
    steps[:, 2] = traces.factorized(
        lambda pr, k: _month_step(str(programmes[pr]), k, p), programme_codes, month_number
    )
    steps[:, 3] = traces.factorized(
        lambda h, a, c: _cap_step(h, a, c, p), held, amount, amount < uncapped
    )
    with collector_paused():  # a million small lists
        rows = steps.tolist()
    out["trace"] = pd.Series(rows, index=inputs.index, dtype=object)
    return out


def _policy_step(policy: Policy) -> Step:
    return _step(
        f"依据{policy.title_zh}（第 {policy.version} 版）",
        f"under {policy.title_en} (version {policy.version})",
    )


def _base_step(days: int, dim: int, p: InternshipParameters) -> Step:
    rate, half = yuan(p.monthly_rate_fen), HALF_MONTH_DAYS
    base = yuan(int(base_amounts(np.array([days]), np.array([dim]), p)[0]))
    part = f"{days}/{dim}"
    if p.proration == "calendar_days":
        partial = days < dim
        return _step(
            f"{rate} 元/月 × {part} 天 = {base} 元"
            + ("（按日历天数折算，向下取整到分）" if partial else ""),
            f"{rate} yuan a month x {part} days = {base}"
            + (" (by calendar days, rounded down to the fen)" if partial else ""),
        )
    if p.proration == "whole_months" and days >= dim:
        return _step(
            f"{rate} 元/月 × 整月（{part} 天）= {base} 元",
            f"{rate} yuan a month x a whole month ({part} days) = {base}",
        )
    if p.proration == "whole_months":
        return _step(
            f"出勤 {part} 天，不足整月；按整月计发，本月 0 元",
            f"{part} days is not a whole month; only whole months pay: 0",
        )
    if days >= half:
        return _step(
            f"出勤 {part} 天（不少于 {half} 天），按整月计 {rate} 元/月 = {base} 元",
            f"{part} days ({half} or more): a whole month at {rate} yuan = {base}",
        )
    return _step(
        f"出勤 {part} 天（不足 {half} 天），按半月计 {rate} 元/月 ÷ 2 = {base} 元",
        f"{part} days (under {half}): half a month of {rate} yuan = {base}",
    )


def _month_step(programme: str, number: int, p: InternshipParameters) -> Step:
    most = p.max_months
    if number <= most:
        return _step(
            f"该实习生在“{programme}”的第 {number} 个月（最多 {most} 个月）",
            f"month {number} of this intern in {programme} (at most {most} pay)",
        )
    return _step(
        f"该实习生在“{programme}”的第 {number} 个月，超过最多 {most} 个月，本月 0 元",
        f"month {number} of this intern in {programme}: at most {most} months pay, so 0",
    )


def _cap_step(held_fen: int, amount_fen: int, clipped: bool, p: InternshipParameters) -> Step:
    cap, held, amount = yuan(p.cap_per_intern_fen), yuan(held_fen), yuan(amount_fen)
    if clipped:
        return _step(
            f"每名实习生上限 {cap} 元，已计 {held} 元；本月只计余额 {amount} 元",
            f"cap {cap} per intern, {held} already: this month pays the remaining {amount}",
        )
    return _step(
        f"每名实习生上限 {cap} 元，已计 {held} 元；本月 {amount} 元",
        f"cap {cap} per intern, {held} already; this month {amount}",
    )


# -- loading inputs (database) ---------------------------------------------------------
#
# A run loads up to a million claims: the reads go to the driver in bulk as typed columns
# (kernel.bulk_read; one query per table, ids as a JSON array on SQLite, an array
# parameter on PostgreSQL; live months through calculation_store.by_cap_key), not row by
# row through Piccolo. Columns
# are selected as expressions (`+id`, `date || ''`: ISO text on both engines), so the
# SQLite driver's per-value converters stay out of the way.


async def _placements(ids: list[int]) -> pd.DataFrame:
    """The placements with their registered programme (one without is left out)."""
    return await fetch_frame(
        "SELECT +pl.id, +pl.person, +pr.id, pr.name, +pr.monthly_rate_fen, "
        "+pr.max_months, +pr.cap_per_intern_fen, pl.start_date || '', pl.end_date || '', "
        "pl.insured_from || '', pl.insured_to || '' "
        "FROM internship_placement AS pl "
        "JOIN internship_programme AS pr ON pr.id = pl.programme_id "
        f"WHERE {store.where_in_integers('pl.id')}",
        [store.list_parameter(ids)],
        ["placement_id:int", "placement_person:int", "programme_id:int", "programme:text",
         "monthly_rate_fen:int", "max_months:int", "cap_per_intern_fen:int",
         "start_date:date", "end_date:date", "insured_from:date", "insured_to:date"],
    )  # fmt: skip


async def _people(ids: list[int]) -> pd.DataFrame:
    return await fetch_frame(
        "SELECT +id, birth_date || '', hukou, fresh_graduate FROM person "
        f"WHERE {store.where_in_integers('id')}",
        [store.list_parameter(ids)],
        ["person_id:int", "birth_date:date", "hukou:text", "fresh_graduate:bool"],
    )


async def _live_months(cap_keys: list[str]) -> pd.DataFrame:
    """Live internship claims of these cap keys: id, cap_key, basis_date, amount_fen."""
    return await store.by_cap_key(
        cap_keys,
        f"claim.id + 0, {store.CAP_KEY}, claim.basis_date || '', {store.AMOUNT} + 0",
        f"claim.scheme = '{rules.SCHEME}' AND {store.status_column('claim')} IN "
        f"{store.status_list(statuses.LIVE)}",
        [],
        ["id:int", "cap_key:text", "basis_date:date", "amount_fen:float"],
    )


def _ages(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years on the day (a birthday on the day counts); NA where unknown."""
    born = pd.to_datetime(birth)
    day = pd.to_datetime(on)
    years = day.dt.year - born.dt.year
    before_birthday = (day.dt.month < born.dt.month) | (
        (day.dt.month == born.dt.month) & (day.dt.day < born.dt.day)
    )
    return (years - before_birthday.astype("int64")).astype("Int64")


def _text(days: pd.Series, fmt: str) -> pd.Series:
    """Dates as text, each distinct date formatted once (a run holds few distinct ones)."""
    codes, uniques = pd.factorize(days, use_na_sentinel=False)
    texts = np.asarray(pd.DatetimeIndex(uniques).strftime(fmt), dtype=object)
    return pd.Series(texts[codes], index=days.index, dtype=object)


def _month_index(first: pd.Series) -> pd.Series:
    return (first.dt.year * 12 + first.dt.month - 1).astype("int64")


def months_held(run: pd.DataFrame, others: pd.DataFrame) -> np.ndarray:
    """Per run row: how many of `others` (the intern's claims not in the run) hold one
    of the intern's months under the same cap key. `run`: cap_key, month_index;
    `others`: cap_key, month_index, amount_fen (NaN: not calculated yet).

    A month holds a place if it pays (an amount above 0), whichever month it is: months
    2 to 4 paid, a late-reported month 1 is the fourth and pays nothing. An earlier month
    not calculated yet holds its place too (it comes first in calendar order when it is
    calculated); a later one does not, or each would count the other and neither pay. A
    month calculated to 0 holds nothing. Vectorised: one sorted key per claim, binary
    searches per row."""
    if run.empty or others.empty:
        return np.zeros(len(run), dtype=np.int64)
    codes, _ = pd.factorize(pd.concat([run["cap_key"], others["cap_key"]], ignore_index=True))
    span = np.int64(100_000)  # above any month index (year x 12 + month)
    run_codes = codes[: len(run)].astype(np.int64)
    other_keys = codes[len(run) :].astype(np.int64) * span + others["month_index"].to_numpy(
        np.int64
    )
    amount = others["amount_fen"].to_numpy(dtype=np.float64)
    holding = np.sort(other_keys[amount != 0])  # NaN != 0: not calculated yet
    paying = np.sort(other_keys[amount > 0])  # NaN > 0 is False
    at = run_codes * span + run["month_index"].to_numpy(np.int64)
    group = run_codes * span
    earlier = np.searchsorted(holding, at, side="left") - np.searchsorted(holding, group)
    since = np.searchsorted(paying, group + span) - np.searchsorted(paying, at, side="left")
    return (earlier + since).astype(np.int64)


async def load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim found, indexed by claim id (see subsidies/schemes.py). A claim
    whose details name no placement of its intern is left out (the run gives it 0 and
    says why)."""
    async with unit_of_work():  # joins the run's; the bulk reads need a connection
        return await _load_inputs(claims)


async def _load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    details = claims["details"].tolist()
    frame = pd.DataFrame(
        {
            "id": claims["id"].to_numpy(dtype=np.int64),
            "person_id": pd.to_numeric(claims["person_id"], errors="coerce").to_numpy(),
            "first": pd.to_datetime(claims["basis_date"]).dt.to_period("M").dt.to_timestamp(),
            "placement_id": pd.to_numeric(
                pd.Series(
                    [d.get("placement_id") if isinstance(d, dict) else None for d in details]
                ),
                errors="coerce",
            ).to_numpy(),
            "days_attended": pd.to_numeric(
                pd.Series(
                    [d.get("days_attended") if isinstance(d, dict) else None for d in details]
                ),
                errors="coerce",
            ).to_numpy(),
        }
    )
    frame = frame.loc[
        frame["placement_id"].notna() & frame["days_attended"].notna() & frame["person_id"].notna()
    ].astype({"placement_id": "int64", "days_attended": "int64", "person_id": "int64"})

    placements = await _placements(sorted(set(frame["placement_id"].tolist())))
    frame = frame.merge(placements, on="placement_id", how="inner")
    # The claim's intern is the placement's intern; anything else is not this scheme's.
    frame = frame.loc[frame["person_id"] == frame["placement_person"]]
    people = await _people(sorted(set(frame["person_id"].tolist())))
    frame = frame.merge(people, on="person_id", how="left").set_index("id").sort_index()

    first = frame["first"]
    since = np.maximum(first, frame["start_date"])
    until = np.minimum(first + pd.offsets.MonthEnd(0), frame["end_date"])
    touches = since <= until
    insured = touches & (frame["insured_from"] <= since) & (until <= frame["insured_to"])
    cap_key = (
        rules.SCHEME
        + ":"
        + frame["person_id"].astype(str)
        + ":programme-"
        + frame["programme_id"].astype(str)
    )
    month_index = _month_index(first)

    others = await _live_months(sorted(set(cap_key.tolist())))
    others = others.loc[~others["id"].isin(frame.index)]
    held = months_held(
        pd.DataFrame({"cap_key": cap_key.to_numpy(), "month_index": month_index.to_numpy()}),
        others.assign(month_index=_month_index(others["basis_date"])),
    )
    hukou = frame["hukou"].where(frame["hukou"].isin(["local", "non_local"]), None)
    inputs = pd.DataFrame(
        {
            "person_id": frame["person_id"],
            "placement_id": frame["placement_id"],
            "programme_id": frame["programme_id"],
            "programme": frame["programme"].astype(str),
            "monthly_rate_fen": frame["monthly_rate_fen"],
            "max_months": frame["max_months"],
            "cap_per_intern_fen": frame["cap_per_intern_fen"],
            "month": _text(first, "%Y-%m"),
            "month_index": month_index,
            "days_attended": frame["days_attended"],
            "days_in_month": first.dt.days_in_month.astype("int64"),
            "period_from": _text(since, "%Y-%m-%d").where(touches, None),
            "period_to": _text(until, "%Y-%m-%d").where(touches, None),
            "insured_from": _text(frame["insured_from"], "%Y-%m-%d"),
            "insured_to": _text(frame["insured_to"], "%Y-%m-%d"),
            "insured_in_period": insured.astype(bool),
            "age": _ages(frame["birth_date"], first),
            "hukou": hukou.astype(object),
            "fresh_graduate": frame["fresh_graduate"].astype("boolean"),
            "months_held": held,
            "cap_key": cap_key.astype(str),
        },
        index=frame.index,
    )
    inputs.index.name = "id"
    return inputs


CALCULATOR = register(SchemeCalculator(rules.SCHEME, load_inputs, calculate))
