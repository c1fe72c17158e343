"""What-if: a draft version of a scheme's policy priced against the claims that already
have an amount, without writing anything.

The draft applies where it would apply as a new version: to the scheme's claims holding
an amount (calculated, approved, on hold, paid) whose basis date it covers, optionally
of one budget year. They are priced with the run's own code
(subsidies.claims.calculation.price): the scheme loads their inputs, the draft's
conditions are judged, the calculator prices them in claim-id order, and a cap spanning
claims starts from what claims outside the simulation hold. Each chunk runs in a unit
of work that is always rolled back, so a simulation cannot write, whatever a scheme's
loader does.

Budget impact per budget year: the change (after - before) against what remains of the
year's budget (amount - committed by approvals); years without a budget say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kernel.clock import utcnow
from kernel.db import unit_of_work
from subsidies.claims import calculation
from subsidies.claims import calculation_store as store
from subsidies.policies import catalogue, documents
from subsidies.policies.catalogue import StoredPolicy
from subsidies.policies.documents import PolicyError
from subsidies.policies.tables import PolicyVersion

CHUNK = calculation.CHUNK
EXAMPLES = 20  # changed claims shown with their before/after and new trace


class _Discard(Exception):
    """Rolls a simulation's unit of work back."""


@dataclass
class _Year:
    claims: int = 0
    changed: int = 0
    before_fen: int = 0
    after_fen: int = 0


@dataclass
class _Totals:
    claims: int = 0
    up: int = 0
    down: int = 0
    before_fen: int = 0
    after_fen: int = 0
    years: dict[int, _Year] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


async def _draft(actor: str, scheme: str, raw: dict[str, Any]) -> StoredPolicy:
    latest = (
        await PolicyVersion.select(PolicyVersion.version)
        .where(PolicyVersion.scheme == scheme)
        .order_by(PolicyVersion.version, ascending=False)
        .first()
        .run()
    )
    raw = {**raw, "scheme": scheme, "version": (latest["version"] if latest else 0) + 1}
    try:
        policy = documents.parse(raw, "document")
    except PolicyError as error:
        raise catalogue.as_invalid_input(error) from None
    return StoredPolicy(
        id=0,
        policy=policy,
        origin="draft",
        origin_file=None,
        created_by=actor,
        created_at=utcnow(),
        used_at=None,
    )


def _tally(totals: _Totals, claims: pd.DataFrame, priced: calculation.Priced) -> None:
    before = claims["amount_fen"].to_numpy(dtype=np.int64)
    after = priced.amount_fen.to_numpy(dtype=np.int64)
    years = claims["budget_year"].to_numpy(dtype=np.int64)
    totals.claims += len(claims)
    totals.up += int((after > before).sum())
    totals.down += int((after < before).sum())
    totals.before_fen += int(before.sum())
    totals.after_fen += int(after.sum())
    frame = pd.DataFrame(
        {"year": years, "before": before, "after": after, "changed": before != after}
    )
    for year, group in frame.groupby("year"):
        bucket = totals.years.setdefault(int(year), _Year())
        bucket.claims += len(group)
        bucket.changed += int(group["changed"].sum())
        bucket.before_fen += int(group["before"].sum())
        bucket.after_fen += int(group["after"].sum())
    room = EXAMPLES - len(totals.examples)
    if room > 0:
        changed = np.flatnonzero(before != after)[:room]
        ids = claims["id"].to_numpy()
        for i in changed:
            totals.examples.append(
                {
                    "claim_id": int(ids[i]),
                    "before_fen": int(before[i]),
                    "after_fen": int(after[i]),
                    "trace": priced.trace.iloc[i],
                }
            )


async def simulate(
    actor: str, scheme: str, raw: dict[str, Any], year: int | None
) -> dict[str, Any]:
    calculator = calculation.calculator_or_invalid(scheme, field="scheme")
    draft = await _draft(actor, scheme, raw)
    scope = store.Scope(scheme, year, draft.policy.effective_from, draft.policy.effective_to)
    # What this simulation has granted so far per cap key (earlier chunks).
    granted = pd.Series(dtype=np.int64)

    async def held(keys: list[str]) -> pd.Series:
        outside = await store.held_by_cap(keys, outside=scope)
        return outside.add(granted.reindex(keys).dropna(), fill_value=0).astype(np.int64)

    totals = _Totals()
    after_id = 0
    while True:
        found: list[Any] = []
        try:
            async with unit_of_work():
                claims = await store.load_in_scope(scope, after_id, CHUNK)
                if len(claims):
                    found = [claims, await calculation.price(claims, draft, calculator, held)]
                raise _Discard
        except _Discard:
            pass
        if not found:
            break
        claims, priced = found
        _tally(totals, claims, priced)
        keyed = priced.cap_key.notna().to_numpy()
        if keyed.any():
            chunk_granted = priced.amount_fen[keyed].groupby(priced.cap_key[keyed].to_numpy()).sum()
            granted = granted.add(chunk_granted, fill_value=0).astype(np.int64)
        after_id = int(claims["id"].iloc[-1])
    budgets = await _budgets(scheme, sorted(totals.years))
    return _report(scheme, draft, year, totals, budgets)


async def _budgets(scheme: str, years: list[int]) -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    try:
        async with unit_of_work():
            found = await store.remaining_budgets(scheme, years)
            raise _Discard
    except _Discard:
        pass
    return found


def _report(
    scheme: str,
    draft: StoredPolicy,
    year: int | None,
    totals: _Totals,
    budgets: dict[int, tuple[int, int]],
) -> dict[str, Any]:
    years = []
    for y, bucket in sorted(totals.years.items()):
        change = bucket.after_fen - bucket.before_fen
        budget = budgets.get(y)
        remaining = budget[0] - budget[1] if budget else None
        years.append(
            {
                "year": y,
                "claims": bucket.claims,
                "changed": bucket.changed,
                "before_fen": bucket.before_fen,
                "after_fen": bucket.after_fen,
                "change_fen": change,
                "budget_fen": budget[0] if budget else None,
                "committed_fen": budget[1] if budget else None,
                "remaining_fen": remaining,
                "remaining_after_change_fen": remaining - change if budget else None,
                "fits_budget": (change <= remaining) if remaining is not None else None,
            }
        )
    return {
        "scheme": scheme,
        "effective_from": draft.policy.effective_from,
        "effective_to": draft.policy.effective_to,
        "year": year,
        "claims": totals.claims,
        "changed": totals.up + totals.down,
        "up": totals.up,
        "down": totals.down,
        "unchanged": totals.claims - totals.up - totals.down,
        "before_fen": totals.before_fen,
        "after_fen": totals.after_fen,
        "change_fen": totals.after_fen - totals.before_fen,
        "years": years,
        "examples": totals.examples,
    }
