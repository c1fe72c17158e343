"""A claim together with its calculation (subsidies.claims.tables.ClaimCalculation).

A SUBMITTED claim with a calculation is shown as calculated, with the calculation's
version, amount, cap key, inputs and trace. When the claim leaves SUBMITTED its
transition copies the version, amount and cap key onto the claim (`settled`), so
approvals, budgets, batches and payments keep reading the claim row alone.
"""

from __future__ import annotations

from typing import Any

from kernel.where_in import select_where_in
from subsidies.claims import json_text, statuses, trace_store
from subsidies.claims.tables import Claim, ClaimCalculation
from subsidies.policies.tables import PolicyVersion

# What a claim shows of its calculation besides what it carries once settled.
SHOWN = ("inputs", "trace", "calculated_at", "calculation_job")
_COPIED = ("policy_version", "amount_fen", "cap_key")


async def _of(claim_ids: list[int], *columns: Any) -> dict[int, dict[str, Any]]:
    """`columns` of the calculation of each of these claims that has one."""
    rows = await select_where_in(ClaimCalculation, ClaimCalculation.claim, claim_ids, *columns)
    return {r["claim"]: r for r in rows}


async def _with_traces(found: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """`found` (rows with a trace_digest) with each digest replaced by its trace's JSON
    text (None for an unknown digest)."""
    texts = await trace_store.texts_of([row["trace_digest"] for row in found.values()])
    for row in found.values():
        row["trace"] = texts.get(row.pop("trace_digest"))
    return found


async def _with_named_inputs(found: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """`found` (rows with inputs and input_names) with each list of values turned into
    the object its names make (inputs stored before their names were apart are objects
    already, with no names)."""
    digests = [row["input_names"] for row in found.values() if row["input_names"]]
    names = await trace_store.input_names_of(digests) if digests else {}
    for row in found.values():
        digest = row.pop("input_names")
        if digest is not None:
            row["inputs"] = json_text.named_values_as_object(names[digest], row["inputs"])
    return found


async def of_claims(claim_ids: list[int], *, detail: bool = True) -> dict[int, dict[str, Any]]:
    """The calculation of each of these claims that has one: what a claim holds, and
    with `detail` what it shows besides (inputs, trace, time, job)."""
    held = (ClaimCalculation.policy_version, ClaimCalculation.amount_fen, ClaimCalculation.cap_key)
    if not detail:
        return await _of(claim_ids, *held)
    shown = (
        ClaimCalculation.inputs,
        ClaimCalculation.input_names,
        ClaimCalculation.trace_digest,
        ClaimCalculation.calculated_at,
        ClaimCalculation.job,
    )
    return await _with_named_inputs(await _with_traces(await _of(claim_ids, *held, *shown)))


async def traces_of(claim_ids: list[int]) -> dict[int, str]:
    """The trace (JSON text) of each of these claims that has a calculation."""
    found = await _with_traces(await _of(claim_ids, ClaimCalculation.trace_digest))
    return {claim: row["trace"] for claim, row in found.items() if row["trace"] is not None}


def merged(
    row: dict[str, Any], calculation: dict[str, Any] | None, *, detail: bool = True
) -> dict[str, Any]:
    """`row` (a claim: its status and any other columns) as its users see it; with
    `detail` (the calculation read with it) plus the SHOWN fields."""
    out = dict(row)
    submitted = out["status"] == statuses.SUBMITTED
    out["status"] = statuses.shown(out["status"], calculation is not None)
    # A claim that left SUBMITTED carries what it holds (nothing if it left before its
    # calculation was stored: put on hold while a run priced it, say).
    for column in _COPIED if submitted and calculation is not None else ():
        # Views name the version's id policy_version_id (policy_version is its number).
        key = "policy_version_id" if f"{column}_id" in out else column
        if key in out and out[key] is None:
            out[key] = calculation[column]
    if not detail:
        return out
    if calculation is None:
        out.update(dict.fromkeys(SHOWN))
    else:
        out.update(
            inputs=calculation["inputs"],
            trace=calculation["trace"],
            calculated_at=calculation["calculated_at"],
            calculation_job=calculation["job"],
        )
    return out


async def merged_rows(rows: list[dict[str, Any]], *, detail: bool = True) -> list[dict[str, Any]]:
    """Each claim row (with its `id`) merged with its calculation (see `merged`); a
    version taken from a calculation gets its scheme and version number where the row
    has those columns."""
    calculations = await of_claims([r["id"] for r in rows], detail=detail)
    out = [merged(r, calculations.get(r["id"]), detail=detail) for r in rows]
    missing = {
        r["policy_version_id"]
        for r in out
        if "policy_version_id" in r and r["policy_version"] is None and r["policy_version_id"]
    }
    if missing:
        versions = {
            v["id"]: v
            for v in await PolicyVersion.select(
                PolicyVersion.id, PolicyVersion.scheme, PolicyVersion.version
            )
            .where(PolicyVersion.id.is_in(sorted(missing)))
            .run()
        }
        for r in out:
            version = versions.get(r.get("policy_version_id"))
            if version is not None and r["policy_version"] is None:
                r["policy_scheme"] = version["scheme"]
                r["policy_version"] = version["version"]
    return out


async def claim_row(claim_id: int, *, detail: bool = True) -> dict[str, Any] | None:
    """Every column of the claim, merged with its calculation (see `merged`)."""
    row = await Claim.select().where(Claim.id == claim_id).first().run()
    if row is None:
        return None
    found = await of_claims([claim_id], detail=detail)
    return merged(row, found.get(claim_id), detail=detail)


def settled(claim: dict[str, Any]) -> dict[Any, Any]:
    """Changes that copy a merged claim's calculation onto it as it leaves SUBMITTED."""
    return {
        Claim.policy_version: claim["policy_version"],
        Claim.amount_fen: claim["amount_fen"],
        Claim.cap_key: claim["cap_key"],
    }
