"""The policy catalogue over HTTP: list schemes and versions, add or correct a version,
and simulate a draft against existing claims."""

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.clock import local_today
from kernel.errors import InvalidInput, NotFound
from kernel.schemas import CONTROL_REASON, Output, control_character_at
from kernel.web_params import QueryYear
from subsidies.policies import catalogue, simulation
from subsidies.policies.catalogue import StoredPolicy
from subsidies.policies.documents import SCHEMES

AnyRequest = Request[Principal, Any, Any]
SchemeName = Annotated[str, PathParameter(max_length=40, pattern=r"^[a-z_]+$")]
VersionNo = Annotated[int, PathParameter(gt=0, le=10_000)]

OFFICERS = allow(StaffRole.OFFICER, StaffRole.ADMIN)
SIMULATORS = allow(StaffRole.OFFICER, StaffRole.ADMIN, StaffRole.FINANCE)


class ConditionOut(Output):
    fact: str
    op: str
    value: Any
    zh: str
    en: str


class VersionOut(Output):
    id: int
    scheme: str
    version: int
    effective_from: date
    effective_to: date | None
    origin: str  # file (a default in the repository) / api (an officer)
    origin_file: str | None
    used: bool  # a calculation relied on it: it never changes
    used_at: datetime | None
    title_zh: str
    title_en: str
    source: str
    payee: str
    automatic: bool
    conditions: list[ConditionOut]
    parameters: dict[str, Any]
    budget_note: str
    created_by: str
    created_at: datetime


class SchemeOut(Output):
    scheme: str
    in_force_today: int | None  # the version number in force on today's Beijing date
    versions: list[VersionOut]


class PoliciesOut(Output):
    schemes: list[SchemeOut]


class YearImpactOut(Output):
    year: int
    claims: int
    changed: int
    before_fen: int
    after_fen: int
    change_fen: int
    budget_fen: int | None
    committed_fen: int | None
    remaining_fen: int | None
    remaining_after_change_fen: int | None
    fits_budget: bool | None


class ExampleOut(Output):
    claim_id: int
    before_fen: int
    after_fen: int
    trace: list[dict[str, str]]


class SimulationOut(Output):
    scheme: str
    effective_from: date
    effective_to: date | None
    year: int | None
    claims: int
    changed: int
    up: int
    down: int
    unchanged: int
    before_fen: int
    after_fen: int
    change_fen: int
    years: list[YearImpactOut]
    examples: list[ExampleOut]


def version_out(stored: StoredPolicy) -> VersionOut:
    policy = stored.policy
    conditions = []
    for condition in policy.conditions:
        zh, en = condition.describe()
        conditions.append(
            ConditionOut(fact=condition.fact, op=condition.op, value=condition.value, zh=zh, en=en)
        )
    return VersionOut(
        id=stored.id,
        scheme=policy.scheme,
        version=policy.version,
        effective_from=policy.effective_from,
        effective_to=policy.effective_to,
        origin=stored.origin,
        origin_file=stored.origin_file,
        used=stored.used_at is not None,
        used_at=stored.used_at,
        title_zh=policy.title_zh,
        title_en=policy.title_en,
        source=policy.source,
        payee=policy.payee,
        automatic=policy.automatic,
        conditions=conditions,
        parameters=msgspec.to_builtins(policy.parameters),
        budget_note=policy.raw.get("budget_note", ""),
        created_by=stored.created_by,
        created_at=stored.created_at,
    )


def _known(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise NotFound(f"no scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    return scheme


def _document(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput.single("document", "must be a JSON object (the policy document)")
    if (where := control_character_at(data, "document")) is not None:
        raise InvalidInput.single(where, CONTROL_REASON)
    return data


class PolicyController(Controller):
    path = "/api/v1/policies"
    tags = ["policies"]

    @get("/", guards=[anyone_signed_in])
    async def list_policies(self) -> PoliciesOut:
        """Lists each subsidy scheme's policy versions and the one in force today (anyone signed
        in)."""
        stored = await catalogue.versions()
        today = local_today()
        schemes = []
        for scheme in SCHEMES:
            mine = [s for s in stored if s.policy.scheme == scheme]
            current = catalogue.in_force(mine, scheme, today)
            schemes.append(
                SchemeOut(
                    scheme=scheme,
                    in_force_today=current.policy.version if current else None,
                    versions=[version_out(s) for s in mine],
                )
            )
        return PoliciesOut(schemes=schemes)

    @get("/{scheme:str}/versions/{version:int}", guards=[anyone_signed_in])
    async def get_version(self, scheme: SchemeName, version: VersionNo) -> VersionOut:
        """Returns one version of a scheme's policy document (anyone signed in)."""
        return version_out(await catalogue.get_version(_known(scheme), version))

    @post("/{scheme:str}/versions", guards=[OFFICERS], status_code=HTTP_201_CREATED)
    async def add_version(
        self, scheme: SchemeName, data: JSONBody[dict[str, Any]], request: AnyRequest
    ) -> VersionOut:
        """Adds a new version of a scheme's policy from a policy document (officers, admins)."""
        stored = await catalogue.add_version(request.user.actor, _known(scheme), _document(data))
        return version_out(stored)

    @put("/{scheme:str}/versions/{version:int}", guards=[OFFICERS], status_code=HTTP_200_OK)
    async def replace_version(
        self,
        scheme: SchemeName,
        version: VersionNo,
        data: JSONBody[dict[str, Any]],
        request: AnyRequest,
    ) -> VersionOut:
        """Replaces a policy version's document (officers, admins); 409 once a calculation has used
        it."""
        stored = await catalogue.replace_version(
            request.user.actor, _known(scheme), version, _document(data)
        )
        return version_out(stored)

    @post("/{scheme:str}/simulate", guards=[SIMULATORS], status_code=HTTP_200_OK)
    async def simulate(
        self,
        scheme: SchemeName,
        data: JSONBody[dict[str, Any]],
        request: AnyRequest,
        year: QueryYear = None,
    ) -> SimulationOut:
        """Prices a draft policy version against existing claims, writing nothing (officers, admins,
        finance): it reports the changes and the budget impact. The draft is the body and is never
        stored; the claims are the scheme's that have an amount and whose basis date it covers
        (`?year=` one budget year)."""
        if year is not None and not 2000 <= year <= 2100:
            raise InvalidInput.single("year", "must be a year between 2000 and 2100")
        report = await simulation.simulate(
            request.user.actor, _known(scheme), _document(data), year
        )
        return msgspec.convert(report, SimulationOut)
