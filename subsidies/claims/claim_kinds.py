"""Which schemes take claims through the generic `POST /api/v1/claims`, and how each turns
a request into a `NewClaim`. Each scheme's package registers its own builder:

    from subsidies.claims.claim_kinds import ClaimRequest, register_claim_kind

    async def build(actor: Principal, request: ClaimRequest) -> NewClaim:
        ...  # validate request.details (raise InvalidInput naming "details.<field>"),
        ...  # derive dedupe_key, payee, certificate, budget_year
        return NewClaim(...)

    register_claim_kind("internship", build)

The builder validates and derives; it does not write. The service then forces what the
route owns (scheme, claimant, submitter, origin application, status submitted), inserts
the claim (409 naming an existing live claim for the same dedupe_key) and enqueues its
calculation, all in one unit of work.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from accounts.principal import Principal
from accounts.roles import OrgType
from kernel.errors import InvalidInput
from subsidies.claims.submission import NewClaim


@dataclass(frozen=True)
class ClaimRequest:
    """A submission as the route received it, with the claimant resolved: the
    organisation itself, or the one an officer named."""

    scheme: str
    claimant_id: int
    claimant_type: str
    basis_date: date
    person_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


Build = Callable[[Principal, ClaimRequest], Awaitable[NewClaim]]


@dataclass(frozen=True)
class DetailField:
    """One key of a scheme's `details`, declared so that a claim file can carry it as a
    column (subsidies.claim_files): its header names and the type of its cells."""

    key: str
    zh: str
    en: str
    kind: str  # "id" (a positive integer), "text" or "date" (YYYY-MM-DD)
    required: bool
    hint: str
    max_length: int = 100  # text only


@dataclass(frozen=True)
class ClaimKind:
    scheme: str
    build: Build
    claimant_types: tuple[str, ...]
    details: tuple[DetailField, ...] = ()


DEFAULT_CLAIMANTS = (OrgType.ENTERPRISE.value, OrgType.TRAINING_INSTITUTION.value)
_KINDS: dict[str, ClaimKind] = {}

# Modules whose import registers a claim kind (loaded on first use; a missing one is
# skipped, so a scheme can add its module later).
CLAIM_KIND_MODULES = (
    "subsidies.internships.claim_kind",
    "subsidies.vouchers.claim_kind",
    "subsidies.skill_levels.claim_kind",
    "subsidies.studio_grants.claim_kind",
)


def register_claim_kind(
    scheme: str,
    build: Build,
    *,
    claimant_types: tuple[str, ...] = DEFAULT_CLAIMANTS,
    details: tuple[DetailField, ...] = (),
) -> Build:
    """Registers `build` for `scheme`; `claimant_types`: the organisation types that may
    claim under it (others get 403, or 400 when an officer names one); `details`: the
    keys of `details` a claim file may give as columns."""
    kind = ClaimKind(scheme, build, tuple(str(t) for t in claimant_types), tuple(details))
    held = _KINDS.get(scheme)
    if held is not None and held != kind:
        raise ValueError(f"scheme {scheme!r} has a claim kind already")
    _KINDS[scheme] = kind
    return build


def _load() -> None:
    for module in CLAIM_KIND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            # Only the module itself (or its package) missing is expected.
            if error.name is None or not (module + ".").startswith(error.name + "."):
                raise


def kind_for(scheme: str) -> ClaimKind | None:
    _load()
    return _KINDS.get(scheme)


def require(scheme: str) -> ClaimKind:
    """The scheme's claim kind; 400 on field `scheme` naming the known ones if none."""
    kind = kind_for(scheme)
    if kind is None:
        raise InvalidInput.single(
            "scheme",
            f"{scheme!r} claims are not submitted this way; known: {', '.join(known()) or 'none'}",
        )
    return kind


def known() -> list[str]:
    _load()
    return sorted(_KINDS)
