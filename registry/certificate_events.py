"""What happens after a certificate is revoked.

Revocation enqueues a job in its own unit of work (registry.certificates.revoke); this
handler runs the reactions other packages register (subsidies computed from the
certificate, for instance) and marks the job done in ONE transaction: if any reaction
fails, none of their effects commit and the job is retried, so reactions see each
revocation exactly once.

A reaction is `async def react(certificate_id: int, ctx: JobContext) -> None`. It runs
inside the job's unit of work: its writes (and any `workers.outbox.enqueue`) commit with
the done mark. It must not call ctx.finishing/ctx.finish itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kernel.errors import DomainError
from registry.tables import Certificate
from workers.kinds import job_handler
from workers.runner import JobContext

CERTIFICATE_REVOKED = "registry.certificate_revoked"

Reaction = Callable[[int, JobContext], Awaitable[None]]

_REACTIONS: list[Reaction] = []


def on_certificate_revoked(reaction: Reaction) -> Reaction:
    """Registers `reaction` (usable as a decorator); registering it twice keeps one."""
    if reaction not in _REACTIONS:
        _REACTIONS.append(reaction)
    return reaction


def reaction_name(reaction: Reaction) -> str:
    return f"{reaction.__module__}.{reaction.__qualname__}"


@job_handler(CERTIFICATE_REVOKED)
async def certificate_revoked(ctx: JobContext) -> dict[str, Any]:
    certificate_id = int(ctx.payload["certificate_id"])
    cert = (
        await Certificate.select(Certificate.status)
        .where(Certificate.id == certificate_id)
        .first()
        .run()
    )
    if cert is None or cert["status"] != "revoked":
        raise DomainError(f"certificate {certificate_id} is not a revoked certificate")
    reactions = list(_REACTIONS)
    result: dict[str, Any] = {"certificate_id": certificate_id, "reactions": []}
    async with ctx.finishing(result):
        for reaction in reactions:
            await reaction(certificate_id, ctx)
            result["reactions"].append(reaction_name(reaction))
    return result
