"""The catalogue of job kinds: each domain registers its handlers here by kind name."""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.runner import JobContext

Handler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]

_HANDLERS: dict[str, Handler] = {}

# Modules whose import registers handlers; the API and every worker load the same list.
HANDLER_MODULES = (
    "audit.jobs",
    "registry.outcomes.importer",
    "registry.certificate_events",
    "subsidies.vouchers.issuing",
    "subsidies.claims.calculation",
    "subsidies.claim_files.processing",
    "subsidies.skill_levels.scan",
    "subsidies.skill_levels.revocation",
    "subsidies.batches.payment_file",
    "certificates.batch_jobs",
    "certificates.single_jobs",
)


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if kind in _HANDLERS and _HANDLERS[kind] is not handler:
            raise ValueError(f"job kind {kind!r} registered twice")
        _HANDLERS[kind] = handler
        return handler

    return register


GiveUpHook = Callable[[dict[str, Any], str], Awaitable[None]]

_GIVE_UP_HOOKS: dict[str, GiveUpHook] = {}


def on_give_up(kind: str) -> Callable[[GiveUpHook], GiveUpHook]:
    """Registers what to do when a job of `kind` fails for good (after its last attempt,
    or a PermanentFailure): called with the job's payload and error, after the job is
    marked failed. For a domain record that tracks the job (an outcome report)."""

    def register(hook: GiveUpHook) -> GiveUpHook:
        _GIVE_UP_HOOKS[kind] = hook
        return hook

    return register


def give_up_hook(kind: str) -> GiveUpHook | None:
    return _GIVE_UP_HOOKS.get(kind)


def load_handlers() -> None:
    # Extra handler modules (comma-separated), e.g. test job kinds loaded into a worker.
    extra = [m for m in os.environ.get("JOB_HANDLER_MODULES", "").split(",") if m]
    for module in (*HANDLER_MODULES, *extra):
        importlib.import_module(module)


def handler_for(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no handler for job kind {kind!r}") from None


def known(kind: str) -> bool:
    return kind in _HANDLERS
