from ipaddress import ip_network
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts import api_keys, staff, throttle
from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from accounts.schemas import (
    AddressIn,
    ApiKeyIn,
    ApiKeyOut,
    IssuedApiKeyOut,
    LoginIn,
    LoginOut,
    MeOut,
    StaffIn,
    StaffOut,
    StaffPage,
)
from accounts.throttle import LoginLimits
from accounts.throttle_rules import address_block
from app.auth import PUBLIC_OPT
from kernel.errors import InvalidInput
from kernel.pagination import check_limit, decode_cursor, next_cursor
from kernel.web_params import Cursor, Limit, RecordId

AnyRequest = Request[Principal, Any, Any]


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", opt={PUBLIC_OPT: True}, status_code=HTTP_200_OK)
    async def login(self, data: JSONBody[LoginIn], request: AnyRequest) -> LoginOut:
        """Signs a staff member in and returns a bearer login token (st_…). Wrong passwords are
        throttled per account name and per client address: past the limits the answer is 429 with
        Retry-After, whether the account exists or not."""
        settings = request.app.state.settings
        token, expires_at = await staff.login(
            data.username,
            data.password,
            settings.token_ttl_minutes,
            address=request.client.host if request.client else "unknown",
            limits=LoginLimits.of(
                settings.login_delay_after,
                settings.login_lock_after,
                settings.login_address_lock_after,
                settings.login_lock_minutes,
            ),
        )
        return LoginOut(token=token, token_type="bearer", expires_at=expires_at)

    @post("/logout", guards=[allow(*StaffRole)], status_code=HTTP_200_OK)
    async def logout(self, request: AnyRequest) -> dict[str, str]:
        """Revokes the staff login token the request was sent with."""
        await staff.logout(request.user)
        return {"status": "logged out"}

    @get("/me", guards=[anyone_signed_in])
    async def me(self, request: AnyRequest) -> MeOut:
        """Tells the signed-in caller who they are: staff member or organisation, id, name and
        roles."""
        p = request.user
        return MeOut(
            kind=p.kind,
            id=p.id,
            name=p.name,
            roles=sorted(p.roles),
            org_type=p.org_type.value if p.org_type else None,
        )


class LockoutController(Controller):
    """Login delays and lockouts in force (admins); an address is unlocked here, an
    account at /api/v1/staff/{id}/unlock."""

    path = "/api/v1/auth/lockouts"
    tags = ["auth"]
    guards = [allow(StaffRole.ADMIN)]

    @get("/")
    async def list_lockouts(self) -> list[dict[str, Any]]:
        """Lists the logins refused at this moment by throttling: account names and client addresses
        (admins)."""
        return await throttle.blocked_now()

    @post("/addresses/unlock", status_code=HTTP_200_OK)
    async def unlock_address(
        self, data: JSONBody[AddressIn], request: AnyRequest
    ) -> dict[str, Any]:
        """Lifts the login lockout of a client address (admins; audited).

        An IPv6 address lifts its /64, which is what is counted."""
        address = _address_or_block(data.address)
        lifted = await throttle.clear(request.user.actor, throttle.address_key(address))
        return {"address": address_block(address), "was_throttled": lifted is not None}


def _address_or_block(text: str) -> str:
    """An IP address, or an IPv6 /64 as the lockouts list shows it."""
    try:
        network = ip_network(text.strip(), strict=False)
    except ValueError:
        network = None
    if network is None or not (
        network.num_addresses == 1 or (network.version == 6 and network.prefixlen == 64)
    ):
        raise InvalidInput.single(
            "address", "not an IP address or IPv6 /64 不是 IP 地址或 IPv6 /64 网段"
        )
    return str(network.network_address)


class StaffController(Controller):
    path = "/api/v1/staff"
    tags = ["staff"]
    guards = [allow(StaffRole.ADMIN)]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(self, data: JSONBody[StaffIn], request: AnyRequest) -> StaffOut:
        """Creates a staff account with its roles and initial password (admins)."""
        user = await staff.create_staff(
            request.user.actor, data.username, data.display_name, data.roles, data.password
        )
        return msgspec.convert(user, StaffOut)

    @get("/")
    async def list_staff(self, cursor: Cursor = None, limit: Limit = 50) -> StaffPage:
        """Lists staff accounts, a page at a time (admins)."""
        rows = await staff.list_staff(decode_cursor(cursor), check_limit(limit))
        return StaffPage(
            items=[msgspec.convert(r, StaffOut) for r in rows],
            next_cursor=next_cursor([r["id"] for r in rows], limit),
        )

    @post("/{user_id:int}/deactivate", status_code=HTTP_200_OK)
    async def deactivate(self, user_id: RecordId, request: AnyRequest) -> dict[str, Any]:
        """Deactivates a staff account and revokes its login tokens (admins)."""
        await staff.set_active(request.user, user_id, False)
        return {"id": user_id, "active": False}

    @post("/{user_id:int}/unlock", status_code=HTTP_200_OK)
    async def unlock(self, user_id: RecordId, request: AnyRequest) -> dict[str, Any]:
        """Lifts a staff account's login delay or lockout after failed logins (admins; audited)."""
        return await staff.unlock(request.user, user_id)


class ApiKeyController(Controller):
    """Admins manage any organisation's keys; an organisation manages its own."""

    path = "/api/v1/organisations/{org_id:int}/api-keys"
    tags = ["api keys"]
    guards = [allow(StaffRole.ADMIN, organisations=True)]

    @post("/", status_code=HTTP_201_CREATED)
    async def issue(
        self, org_id: RecordId, data: JSONBody[ApiKeyIn], request: AnyRequest
    ) -> IssuedApiKeyOut:
        """Issues a new API key for an organisation; the secret is in this answer only (admins, or
        the organisation itself)."""
        return msgspec.convert(
            await api_keys.issue(request.user, org_id, data.label), IssuedApiKeyOut
        )

    @get("/")
    async def list_keys(self, org_id: RecordId, request: AnyRequest) -> list[ApiKeyOut]:
        """Lists an organisation's API keys without their secrets (admins, or the organisation
        itself)."""
        return [
            msgspec.convert(k, ApiKeyOut) for k in await api_keys.list_for(request.user, org_id)
        ]

    @delete("/{key_id:int}", status_code=HTTP_200_OK)
    async def revoke(self, org_id: RecordId, key_id: RecordId, request: AnyRequest) -> ApiKeyOut:
        """Revokes one of an organisation's API keys (admins, or the organisation itself)."""
        return msgspec.convert(await api_keys.revoke(request.user, org_id, key_id), ApiKeyOut)
