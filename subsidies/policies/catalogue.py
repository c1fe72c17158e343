"""The policy catalogue in the database: the repository's default documents synced in at
migration, versions officers add, which version is in force on a day, and the rule that
a version used by a calculation never changes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from subsidies.policies import documents
from subsidies.policies.documents import Policy, PolicyError
from subsidies.policies.tables import PolicyVersion


@dataclass(frozen=True)
class StoredPolicy:
    id: int
    policy: Policy
    origin: str
    origin_file: str | None
    created_by: str
    created_at: datetime
    used_at: datetime | None


def canonical(raw: dict[str, Any]) -> str:
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _stored(row: dict[str, Any]) -> StoredPolicy:
    policy = documents.parse(
        json.loads(row["document"]), f"policy_version {row['id']}", stored=True
    )
    return StoredPolicy(
        id=row["id"],
        policy=policy,
        origin=row["origin"],
        origin_file=row["origin_file"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        used_at=row["used_at"],
    )


async def versions(scheme: str | None = None) -> list[StoredPolicy]:
    query = PolicyVersion.select().order_by(PolicyVersion.scheme).order_by(PolicyVersion.version)
    if scheme is not None:
        query = query.where(PolicyVersion.scheme == scheme)
    return [_stored(row) for row in await query.run()]


async def get_version(scheme: str, version: int) -> StoredPolicy:
    row = (
        await PolicyVersion.select()
        .where((PolicyVersion.scheme == scheme) & (PolicyVersion.version == version))
        .first()
        .run()
    )
    if row is None:
        raise NotFound(f"no version {version} of scheme {scheme!r}")
    return _stored(row)


def in_force(stored: list[StoredPolicy], scheme: str, day: date) -> StoredPolicy | None:
    """The version in force on `day` (see documents.version_for)."""
    chosen = documents.version_for([s.policy for s in stored], scheme, day)
    if chosen is None:
        return None
    return next(s for s in stored if s.policy is chosen)


async def version_on(scheme: str, day: date) -> StoredPolicy | None:
    return in_force(await versions(scheme), scheme, day)


class VersionChanged(Conflict):
    """A version was corrected after a run read it and before the run stored what it
    priced with it: the attempt rolls back and its retry prices with the correction."""


async def mark_used(used: Iterable[StoredPolicy]) -> None:
    """Call in the unit of work that stores results calculated with these versions, as
    late as possible. Marks them used (immutable from now on) and checks each is still
    the document the results were priced with: replace_version may have corrected it
    since the caller read it, while it was unused. Once this has run, replace_version
    waits for the caller's commit (the row is locked) and then refuses."""
    by_id = {s.id: s for s in used}
    if not by_id:
        return
    ids = sorted(by_id)
    await (
        PolicyVersion.update({PolicyVersion.used_at: utcnow()})
        .where(PolicyVersion.id.is_in(ids) & PolicyVersion.used_at.is_null())
        .run()
    )
    query = PolicyVersion.select(PolicyVersion.id, PolicyVersion.document).where(
        PolicyVersion.id.is_in(ids)
    )
    # A share lock: lanes of a run mark the same version at once and need not wait on
    # each other; SQLite's unit of work already holds the only write lock.
    rows = await (query if is_sqlite(engine()) else query.lock_rows("SHARE")).run()
    for row in rows:
        seen = by_id[row["id"]].policy
        now = documents.parse(
            json.loads(row["document"]), f"policy_version {row['id']}", stored=True
        )
        if now.raw != seen.raw:
            raise VersionChanged(
                f"version {seen.version} of {seen.scheme} was corrected while it was being "
                "used; a job retries with the correction, a request can be sent again"
            )


def as_invalid_input(error: PolicyError) -> InvalidInput:
    """A document's problems as field errors of the API ('field: reason')."""
    fields = []
    for problem in error.problems:
        field, _, reason = problem.partition(": ")
        fields.append(FieldError(f"document.{field}", reason or problem))
    return InvalidInput(fields)


async def add_version(actor: str, scheme: str, raw: dict[str, Any]) -> StoredPolicy:
    """An officer's new version: the next number, validated like a default file."""
    raw = {**raw, "scheme": scheme}
    async with unit_of_work():
        latest = (
            await PolicyVersion.select(PolicyVersion.version)
            .where(PolicyVersion.scheme == scheme)
            .order_by(PolicyVersion.version, ascending=False)
            .first()
            .run()
        )
        raw["version"] = (latest["version"] if latest else 0) + 1
        try:
            policy = documents.parse(raw, "document")
        except PolicyError as error:
            raise as_invalid_input(error) from None
        with conflict_on_duplicate(f"version {raw['version']} of {scheme} exists", "version"):
            rows = (
                await PolicyVersion.insert(
                    PolicyVersion(
                        scheme=scheme,
                        version=policy.version,
                        effective_from=policy.effective_from,
                        effective_to=policy.effective_to,
                        document=canonical(policy.raw),
                        origin="api",
                        created_by=actor,
                    )
                )
                .returning(PolicyVersion.id)
                .run()
            )
        await record(
            actor, "policy.version_added", "policy_version", rows[0]["id"], after=policy.raw
        )
    return await get_version(scheme, policy.version)


async def replace_version(
    actor: str, scheme: str, version: int, raw: dict[str, Any]
) -> StoredPolicy:
    """Corrects a version no calculation has used; a used one answers 409."""
    raw = {**raw, "scheme": scheme, "version": version}
    try:
        policy = documents.parse(raw, "document")
    except PolicyError as error:
        raise as_invalid_input(error) from None
    async with unit_of_work():
        row = (
            await PolicyVersion.select()
            .where((PolicyVersion.scheme == scheme) & (PolicyVersion.version == version))
            .first()
            .run()
        )
        if row is None:
            raise NotFound(f"no version {version} of scheme {scheme!r}")
        if row["used_at"] is not None:
            raise Conflict(
                f"version {version} of {scheme} was used by a calculation on "
                f"{row['used_at']:%Y-%m-%d} and cannot change; add a new version instead"
            )
        updated = (
            await PolicyVersion.update(
                {
                    PolicyVersion.document: canonical(policy.raw),
                    PolicyVersion.effective_from: policy.effective_from,
                    PolicyVersion.effective_to: policy.effective_to,
                }
            )
            .where((PolicyVersion.id == row["id"]) & PolicyVersion.used_at.is_null())
            .returning(PolicyVersion.id)
            .run()
        )
        if not updated:  # a calculation used it between the read and the write
            raise Conflict(f"version {version} of {scheme} was just used and cannot change")
        await record(
            actor,
            "policy.version_replaced",
            "policy_version",
            row["id"],
            before=json.loads(row["document"]),
            after=policy.raw,
        )
    return await get_version(scheme, version)


async def sync_defaults(actor: str = "system:policy-defaults") -> list[str]:
    """Brings the repository's default documents into the catalogue (run at migration).
    New ones are added; a changed one replaces its row only if no calculation used it,
    else this fails loudly naming the file. Returns what changed."""
    changes = []
    for policy, path in documents.load_defaults_with_paths():
        document = canonical(policy.raw)
        async with unit_of_work():
            row = (
                await PolicyVersion.select()
                .where(
                    (PolicyVersion.scheme == policy.scheme)
                    & (PolicyVersion.version == policy.version)
                )
                .first()
                .run()
            )
            if row is None:
                await PolicyVersion.insert(
                    PolicyVersion(
                        scheme=policy.scheme,
                        version=policy.version,
                        effective_from=policy.effective_from,
                        effective_to=policy.effective_to,
                        document=document,
                        origin="file",
                        origin_file=path.name,
                        created_by=actor,
                    )
                ).run()
                changes.append(f"added {path.name}")
            elif row["document"] != document:
                if row["used_at"] is not None or row["origin"] != "file":
                    raise PolicyError(
                        path.name,
                        [
                            f"version: {policy.scheme} version {policy.version} is already in "
                            "the catalogue with other content"
                            + (" and was used by a calculation" if row["used_at"] else "")
                            + "; give the changed document a new version number"
                        ],
                    )
                updated = await (
                    PolicyVersion.update(
                        {
                            PolicyVersion.document: document,
                            PolicyVersion.effective_from: policy.effective_from,
                            PolicyVersion.effective_to: policy.effective_to,
                        }
                    )
                    # A run may have used it since the read: then it is not changed.
                    .where((PolicyVersion.id == row["id"]) & PolicyVersion.used_at.is_null())
                    .returning(PolicyVersion.id)
                    .run()
                )
                if not updated:
                    raise PolicyError(
                        path.name,
                        [
                            f"version: {policy.scheme} version {policy.version} was just used "
                            "by a calculation; give the changed document a new version number"
                        ],
                    )
                changes.append(f"updated {path.name}")
    return changes
