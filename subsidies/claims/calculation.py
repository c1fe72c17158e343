"""Calculation runs: the job "subsidies.calculate" prices a scheme's SUBMITTED claims.

Payload: {"scheme": str, "claim_ids": [int] (optional; default every SUBMITTED claim of
the scheme)}. For each claim the run picks the policy version in force on its basis
date, has the scheme load its inputs (subsidies.schemes), adds `already_fen` (what
claims holding an amount — calculated, approved, on hold, paid — hold under the same
cap key), judges the policy's conditions and prices the eligible rows with the scheme's
pure calculator (subsidies.claims.evaluation), then appends per claim a calculation
(subsidies.claims.tables.ClaimCalculation): the version, the amount, the cap key, the
inputs, the trace (stored once per distinct trace), the time and the run's job id.

Decisions:
- Order. Claims are processed grouped by version (older effective date first), then by
  claim id, in chunks (chunk_size()); a cap that spans claims fills in that order, so a
  run's results depend on nothing else. Each chunk commits on its own (with the mark on
  the version it used and an audit entry), and the next chunk sees it as held: on
  SQLite the write lock is never held for a whole million-claim run, and a retried job
  goes on where the last one stopped.
- Lanes. On PostgreSQL the claims are split by person into lanes (LANES_POSTGRESQL),
  each a job of its own ("subsidies.calculate_lane", a sequence of chunks as above)
  that any worker process may run (workers.fan_out); the run's job sums their results.
  A person's claims stay in one lane, in the same order. Their calculations and audit
  entries name the run's job.
- Idempotent. Only SUBMITTED claims without a calculation are taken, and runs of one
  scheme take turns per chunk and lane: running a run again, or a second run, changes
  nothing.
- A claim whose basis date no version covers is CALCULATED with amount 0, no version
  and a trace saying so, so an officer sees it and rejects it (the claimant may claim
  again once a version covers the date) instead of it waiting unseen.
- A claim the scheme finds no inputs for (its placement is gone, ...) likewise gets 0
  and a trace saying so.
- Caps are re-checked at approval (subsidies.claims.ledger); the run's "already paid"
  is what an officer sees, the ledger is what holds under concurrency.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.collector import collector_paused
from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import InvalidInput
from subsidies import schemes
from subsidies.claims import calculation_store as store
from subsidies.claims import evaluation, json_text, trace_store
from subsidies.claims.submission import CALCULATE, CALCULATE_LANE
from subsidies.policies import catalogue
from subsidies.policies.catalogue import StoredPolicy
from subsidies.policies.documents import SCHEMES
from workers import fan_out
from workers.kinds import job_handler
from workers.outbox import enqueue
from workers.runner import JobContext, PermanentFailure
from workers.status import JobStatus
from workers.tables import Job

# Claims per chunk. Each chunk's lookups on PostgreSQL (its claims, what other claims
# hold under its cap keys) hash-join whole tables, a cost per chunk whatever its size:
# chunks of 250,000 took a 1M-claim run from 26.5-29.0 s to 23.0 s, at 1.4 GB peak
# RSS. SQLite looks rows up by index, so larger chunks bought nothing there (19.7 s
# against 18.6-18.9 s) but memory (1.6 GB against 1.0 GB).
CHUNK = 100_000
CHUNK_POSTGRESQL = 250_000
MAX_CLAIM_IDS = 1_000_000

HeldLookup = Callable[[list[str]], Awaitable[pd.Series]]

# Seconds spent per phase of runs in this process (bench/calculate.py prints them).
TIMINGS: dict[str, float] = {}


def _spent(phase: str, seconds: float) -> None:
    TIMINGS[phase] = TIMINGS.get(phase, 0.0) + seconds


@contextmanager
def _timed(phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _spent(phase, time.perf_counter() - started)


# -- starting a run -------------------------------------------------------------------


def calculator_or_invalid(scheme: str, field: str = "scheme") -> schemes.SchemeCalculator:
    if scheme not in SCHEMES:
        raise InvalidInput.single(field, f"unknown scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    try:
        return schemes.calculator_for(scheme)
    except LookupError:
        raise InvalidInput.single(field, f"scheme {scheme!r} has no calculator yet") from None


async def request_run(actor: Principal, scheme: str, claim_ids: list[int] | None) -> int:
    """Enqueues a calculation run; returns the job id."""
    calculator_or_invalid(scheme)
    if claim_ids is not None:
        if not claim_ids:
            raise InvalidInput.single("claim_ids", "name at least one claim, or leave it out")
        if len(claim_ids) > MAX_CLAIM_IDS:
            raise InvalidInput.single("claim_ids", f"at most {MAX_CLAIM_IDS:,} claims per run")
        claim_ids = sorted(set(claim_ids))
    payload: dict[str, Any] = {"scheme": scheme}
    if claim_ids is not None:
        payload["claim_ids"] = claim_ids
    async with unit_of_work():
        job_id = await enqueue(CALCULATE, payload, created_by=actor.actor)
        await record(
            actor.actor,
            "calculation_run.requested",
            "job",
            job_id,
            after={"scheme": scheme, "claims": len(claim_ids) if claim_ids else "all submitted"},
        )
    return job_id


# -- pricing claims (shared with simulations) -----------------------------------------


@dataclass
class Priced:
    """Results for some claims, indexed by claim id in the order they were priced."""

    amount_fen: pd.Series  # int64
    trace: pd.Series  # list of {zh, en} per claim
    cap_key: pd.Series  # str or None
    inputs: pd.DataFrame  # what the calculator saw (with already_fen), claims with inputs
    version_id: int | None


async def price(
    claims: pd.DataFrame,
    stored: StoredPolicy | None,
    calculator: schemes.SchemeCalculator,
    held: HeldLookup,
) -> Priced:
    """Prices `claims` (a frame from calculation_store, id order) under one version.
    `held(cap_keys)` says what other claims hold per cap key."""
    index = pd.Index(claims["id"].to_numpy(dtype=np.int64), name="id")
    amount = pd.Series(np.zeros(len(index), dtype=np.int64), index=index)
    trace = pd.Series([None] * len(index), index=index, dtype=object)
    cap_key = pd.Series([None] * len(index), index=index, dtype=object)
    if stored is None:
        days = claims["basis_date"].dt.date.tolist()
        by_day: dict[date, list[dict[str, str]]] = {}
        trace[:] = [by_day.setdefault(d, evaluation.no_policy_trace(d)) for d in days]
        inputs = pd.DataFrame({"basis_date": claims["basis_date"].to_numpy()}, index=index)
        return Priced(amount, trace, cap_key, inputs, None)
    with _timed(f"load_inputs ({stored.policy.scheme})"):
        loaded = await calculator.load_inputs(
            claims.drop(columns=["status", "amount_fen", "cap_key"])
        )
    if not loaded.index.is_unique:
        raise ValueError(f"the {stored.policy.scheme} loader returned a claim twice")
    found = index[index.isin(pd.Index(loaded.index, dtype=np.int64))]  # keep id order
    inputs = loaded.loc[found].copy() if len(found) else loaded.iloc[0:0].copy()
    inputs.index = pd.Index(found, name="id")
    if "cap_key" not in inputs.columns:
        inputs["cap_key"] = None
    keys = inputs["cap_key"]
    with _timed("already held"):
        known_keys = sorted(set(keys.dropna().tolist()))
        holding = await held(known_keys) if known_keys else pd.Series(dtype=np.int64)
        inputs["already_fen"] = keys.map(holding).fillna(0).to_numpy(dtype=np.int64)
    with _timed("conditions + calculate (pure)"):
        judged = evaluation.judge(inputs, stored.policy, calculator.calculate)
    at = index.get_indexer(found)
    amounts = np.zeros(len(index), dtype=np.int64)
    amounts[at] = judged["amount_fen"].to_numpy(dtype=np.int64)
    traces = np.empty(len(index), dtype=object)
    traces[:] = [evaluation.NO_INPUTS_TRACE] * len(index)
    traces[at] = judged["trace"].to_numpy()
    cap_keys = np.full(len(index), None, dtype=object)
    given = keys.to_numpy(dtype=object, copy=True)  # may be a read-only view
    given[pd.isna(given)] = None  # NaN or NA from the loader: no cap spans claims
    cap_keys[at] = given
    return Priced(
        pd.Series(amounts, index=index),
        pd.Series(traces, index=index, dtype=object),
        pd.Series(cap_keys, index=index, dtype=object),
        inputs,
        stored.id,
    )


def chunk_size() -> int:
    return CHUNK if is_sqlite(engine()) else CHUNK_POSTGRESQL


def plan(
    basis: pd.DataFrame, stored: list[StoredPolicy], scheme: str, chunk: int = CHUNK
) -> list[tuple[StoredPolicy | None, np.ndarray]]:
    """The run's chunks: claims grouped by the version in force on their basis date
    (claims no version covers first, then versions by effective date), each group in
    claim-id order, cut into chunks."""
    if basis.empty:
        return []
    days = basis["basis_date"].to_numpy(dtype="datetime64[D]")
    unique_days = np.unique(days)
    chosen = {
        day: catalogue.in_force(stored, scheme, pd.Timestamp(day).date()) for day in unique_days
    }
    by_id = {s.id: s for s in stored}
    rank = evaluation.version_order([(s.id, s.policy) for s in stored])
    version_of_day = np.array([chosen[d].id if chosen[d] else 0 for d in unique_days])
    position = np.searchsorted(unique_days, days)
    version = version_of_day[position]
    order_key = np.array([rank[v] + 1 if v else 0 for v in version_of_day])[position]
    ids = basis["id"].to_numpy(dtype=np.int64)
    order = np.lexsort((ids, order_key))
    chunks: list[tuple[StoredPolicy | None, np.ndarray]] = []
    ordered_versions = version[order]
    ordered_ids = ids[order]
    boundaries = np.flatnonzero(np.diff(ordered_versions)) + 1
    for part_ids, part_versions in zip(
        np.split(ordered_ids, boundaries), np.split(ordered_versions, boundaries), strict=True
    ):
        holder = by_id.get(int(part_versions[0])) if part_versions[0] else None
        for start in range(0, len(part_ids), chunk):
            chunks.append((holder, part_ids[start : start + chunk]))
    return chunks


# -- storing results ------------------------------------------------------------------


@dataclass
class Results:
    """What calculation_store.store_results writes: `rows` (RESULT_COLUMNS but inputs:
    a trace digest and the inputs' names' digest per row), `inputs` (their values' JSON
    text, an Arrow string array in the rows' order), the traces and the lists of input
    names they name (digest -> JSON text)."""

    rows: pd.DataFrame
    inputs: pa.Array
    traces: dict[str, str]
    input_names: dict[str, str]


def results_frame(priced: Priced) -> Results:
    index = priced.amount_fen.index
    inputs = json_text.rows_as_json_values(priced.inputs)
    names_text = json_text.list_as_json([str(c) for c in priced.inputs.columns])
    names_digest = trace_store.digest(names_text)
    names = np.full(len(index), names_digest, dtype=object)
    if len(priced.inputs) != len(index):  # claims without inputs store {}, unnamed
        source = np.full(len(index), len(inputs), dtype=np.int64)
        at = index.get_indexer(priced.inputs.index)
        source[at] = np.arange(len(inputs))
        inputs = pa.concat_arrays([inputs, pa.array(["{}"], type=pa.string())]).take(source)
        names[np.setdiff1d(np.arange(len(index)), at)] = None
    codes, texts = json_text.distinct_lists_as_json(priced.trace.tolist())
    digests = np.asarray([trace_store.digest(text) for text in texts], dtype=object)
    # Text columns stay object: pandas would otherwise copy them into Arrow strings.
    rows = pd.DataFrame(
        {
            "id": index.to_numpy(dtype=np.int64),
            "policy_version": priced.version_id,
            "amount_fen": priced.amount_fen.to_numpy(dtype=np.int64),
            "cap_key": pd.Series(priced.cap_key.to_numpy(), index=index, dtype=object),
            "trace_digest": pd.Series(
                digests[codes] if len(codes) else [], index=index, dtype=object
            ),
            "input_names": pd.Series(names, index=index, dtype=object),
        }
    ).reset_index(drop=True)
    traces = dict(zip(digests.tolist(), texts, strict=True))
    named = {names_digest: names_text} if len(priced.inputs) else {}
    return Results(rows, inputs, traces, named)


# -- the job --------------------------------------------------------------------------


def _requested(payload: dict[str, Any]) -> tuple[str, list[int] | None, schemes.SchemeCalculator]:
    """The scheme, the named claims (None: every SUBMITTED claim) and the calculator of
    a run's payload."""
    scheme = str(payload.get("scheme"))
    try:
        calculator = calculator_or_invalid(scheme)
    except InvalidInput as error:
        raise PermanentFailure(error.message) from None
    return scheme, payload.get("claim_ids"), calculator


@job_handler(CALCULATE)
async def calculate_run(ctx: JobContext) -> dict[str, Any]:
    scheme, claim_ids, calculator = _requested(ctx.payload)
    lanes = lane_count()
    if lanes == 1:
        result = await _calculate(ctx, ctx.job_id, scheme, claim_ids, calculator, 0, 1)
    else:
        children = await fan_out.children(
            ctx, CALCULATE_LANE, [{"lane": k, "lanes": lanes} for k in range(lanes)]
        )
        parts = await fan_out.results(ctx, children)
        result = summed(scheme, parts, await catalogue.versions(scheme))
    await ctx.finish(result)  # each chunk committed its own work
    return result


@job_handler(CALCULATE_LANE)
async def calculate_lane(ctx: JobContext) -> dict[str, Any]:
    """One lane of a run (payload: parent, lane, lanes), with the run's payload."""
    run_id = int(ctx.payload["parent"])
    run = await Job.select(Job.payload, Job.status).where(Job.id == run_id).first().run()
    if run is None or run["status"] in (JobStatus.FAILED, JobStatus.DONE):
        # A lane the sweeper re-sent after its run ended (another lane failed for good).
        raise PermanentFailure(f"calculation run {run_id} has ended or is gone")
    scheme, claim_ids, calculator = _requested(json.loads(run["payload"]))
    lane, lanes = int(ctx.payload["lane"]), int(ctx.payload["lanes"])
    result = await _calculate(ctx, run_id, scheme, claim_ids, calculator, lane, lanes)
    await ctx.finish(result)
    return result


# Lanes of one run on PostgreSQL: its claims split by person, each lane a job of its
# own (CALCULATE_LANE), run by workers side by side (workers.fan_out), each on a
# connection and, given worker processes enough, a core of its own. Every cap that
# spans claims, and the skill level's difference over lower levels, is one person's: a
# person's claims all fall in one lane, in the same order as in one. A constant, not a
# setting: two runs of a scheme at once must cut their claims the same way to take
# turns per lane.
LANES_POSTGRESQL = 2


def lane_count() -> int:
    return 1 if is_sqlite(engine()) else LANES_POSTGRESQL


def summed(
    scheme: str, parts: list[dict[str, Any]], versions: list[StoredPolicy]
) -> dict[str, Any]:
    """A run's result from its lanes' results."""
    result: dict[str, Any] = {"scheme": scheme, "policy_versions": []}
    for key in ("claims", "total_fen", "zero", "no_policy", "skipped"):
        result[key] = sum(int(part[key]) for part in parts)
    used = {v for part in parts for v in part["policy_versions"]}
    # In the order versions are processed.
    rank = evaluation.version_order([(s.id, s.policy) for s in versions])
    result["policy_versions"] = sorted(used, key=rank.__getitem__)
    return result


async def _calculate(
    ctx: JobContext,
    run_id: int,
    scheme: str,
    claim_ids: list[int] | None,
    calculator: schemes.SchemeCalculator,
    lane: int,
    lanes: int,
) -> dict[str, Any]:
    """Calculates one lane of run `run_id` (all of it when `lanes` is 1), chunk after
    chunk, each committed on its own; returns its figures."""
    versions = await catalogue.versions(scheme)
    with _timed("plan"):
        async with unit_of_work():
            basis = await store.submitted_basis(
                scheme, claim_ids, (lane, lanes) if lanes > 1 else None
            )
        chunks = plan(basis, versions, scheme, chunk_size())
    result: dict[str, Any] = {
        "scheme": scheme,
        "claims": 0,
        "total_fen": 0,
        "zero": 0,
        "no_policy": 0,
        "skipped": 0,
        "policy_versions": [],
    }
    progress = _Progress(ctx, len(basis))
    await ctx.progress(2)
    await _run_chunks(ctx, run_id, scheme, calculator, result, progress, lane, chunks)
    return summed(scheme, [result], versions)


class _Progress:
    def __init__(self, ctx: JobContext, total: int) -> None:
        self.ctx = ctx
        self.total = max(1, total)
        self.done = 0

    async def add(self, claims: int) -> None:
        self.done += claims
        await self.ctx.progress(2 + 97 * self.done // self.total)


async def _run_chunks(
    ctx: JobContext,
    run_id: int,
    scheme: str,
    calculator: schemes.SchemeCalculator,
    result: dict[str, Any],
    progress: _Progress,
    lane: int,
    chunks: list[tuple[StoredPolicy | None, np.ndarray]],
) -> None:
    for stored, ids in chunks:
        # A chunk makes millions of small acyclic objects (rows, dicts, JSON text): the
        # cyclic collector would walk the whole heap again and again meanwhile (a fifth
        # of a run's time). It runs again between chunks, unless another bulk job in
        # this process is in the middle of one (kernel.collector).
        async with unit_of_work():
            # Holds this job's row to the commit: an attempt whose lease another worker
            # (or the run's parent) has taken over stops here instead of storing.
            await ctx.hold()
            with store.bulk_session(), collector_paused():
                with _timed("load claims"):
                    await store.serialise_runs(scheme, lane)
                    claims = await store.load_submitted(ids.tolist())
                priced = await price(claims, stored, calculator, store.held_by_cap)
                with _timed("inputs and traces as JSON"):
                    results = results_frame(priced)
                with _timed("store"):
                    updated = await store.store_results(results, run_id, utcnow())
                amounts = results.rows["amount_fen"]
            finishing = time.perf_counter()
            if updated and stored is not None:
                await catalogue.mark_used([stored])
            chunk_total = int(amounts.sum())
            await record(
                ctx.actor,
                "claims.calculated",
                "job",
                run_id,
                after={
                    "scheme": scheme,
                    "policy_version": stored.id if stored else None,
                    "claims": updated,
                    "first_claim_id": int(ids[0]),
                    "last_claim_id": int(ids[-1]),
                    "total_fen": chunk_total,
                },
            )
        _spent("mark, audit and commit", time.perf_counter() - finishing)
        result["claims"] += updated
        result["skipped"] += len(ids) - updated
        result["total_fen"] += chunk_total
        result["zero"] += int((amounts == 0).sum())
        if stored is None:
            result["no_policy"] += len(amounts)
        elif stored.id not in result["policy_versions"]:
            result["policy_versions"].append(stored.id)
        await progress.add(len(ids))
