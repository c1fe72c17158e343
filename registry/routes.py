from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.schemas import Input, Output
from kernel.web_params import Cursor, Limit, RecordId
from registry import organisations


class OrganisationIn(Input):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    org_type: str
    credit_code: Annotated[str, msgspec.Meta(max_length=40)]
    town: str | None = None  # required unless province is given (outside Dongguan)
    bank_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    bank_account: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    bank_account_name: Annotated[str, msgspec.Meta(max_length=400)] | None = None
    # Name or GB/T 2260 code; a Dongguan town implies 广东省.
    province: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    bank_code: Annotated[str, msgspec.Meta(max_length=40)] | None = None  # CNAPS 联行号


class BankAccountIn(Input):
    bank_name: Annotated[str, msgspec.Meta(max_length=200)]
    bank_account: Annotated[str, msgspec.Meta(max_length=100)]
    bank_account_name: Annotated[str, msgspec.Meta(max_length=400)]
    bank_code: Annotated[str, msgspec.Meta(max_length=40)] | None = None  # CNAPS 联行号


class OrganisationOut(Output):
    id: int
    name: str
    org_type: str
    credit_code: str
    town: str | None  # null: outside Dongguan
    province: str | None
    created_at: datetime
    bank_name: str | None
    bank_account: str | None  # whole for officer/admin/finance and the organisation
    bank_account_name: str | None
    bank_code: str | None


def _out(who: Principal, org: dict[str, Any]) -> OrganisationOut:
    return msgspec.convert(organisations.shown(who, org), OrganisationOut)


class OrganisationPage(Output):
    items: list[OrganisationOut]
    next_cursor: str | None


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["registry"]

    @post("/", guards=[allow(StaffRole.ADMIN, StaffRole.OFFICER)], status_code=HTTP_201_CREATED)
    async def create(
        self, data: JSONBody[OrganisationIn], request: Request[Principal, Any, Any]
    ) -> OrganisationOut:
        """Registers an organisation (officers, admins)."""
        new = organisations.NewOrganisation(**msgspec.structs.asdict(data))
        return _out(request.user, await organisations.create(request.user, new))

    @get("/", guards=[anyone_signed_in])
    async def list_organisations(
        self,
        request: Request[Principal, Any, Any],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> OrganisationPage:
        """Lists organisations, a page at a time: all for staff, only itself for an organisation."""
        rows = await organisations.list_visible(
            request.user, decode_cursor(cursor), check_limit(limit)
        )
        return OrganisationPage(
            items=[_out(request.user, r) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @get("/{org_id:int}", guards=[anyone_signed_in])
    async def get_one(
        self, org_id: RecordId, request: Request[Principal, Any, Any]
    ) -> OrganisationOut:
        """Returns one organisation: any for staff, only itself for an organisation."""
        return _out(request.user, await organisations.get_visible(request.user, org_id))

    @put("/{org_id:int}/bank-account", guards=[allow(StaffRole.ADMIN, StaffRole.OFFICER)])
    async def set_bank_account(
        self, org_id: RecordId, data: JSONBody[BankAccountIn], request: Request[Principal, Any, Any]
    ) -> OrganisationOut:
        """Records the bank account an organisation's payments go to (officers, admins)."""
        account = organisations.BankAccount(**msgspec.structs.asdict(data))
        return _out(
            request.user, await organisations.set_bank_account(request.user, org_id, account)
        )
