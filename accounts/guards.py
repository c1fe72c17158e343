"""Route guards. They raise the domain Forbidden, which the edge answers with 403
and records in the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from kernel.errors import Forbidden

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return connection.user  # type: ignore[no-any-return]


def allow(*roles: StaffRole, organisations: tuple[OrgType, ...] | bool = False) -> Guard:
    """Lets in staff holding any of `roles`, and organisations when `organisations` is
    True or names their type. Everyone else gets 403."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's automatic OPTIONS answer (204 and the Allow header) runs under the
            # controller's guards, but preflights carry no credentials and reveal nothing.
            return
        who = principal_of(connection)
        if who.is_staff and who.has_any(*roles):
            return
        if not who.is_staff and (
            organisations is True
            or (isinstance(organisations, tuple) and who.org_type in organisations)
        ):
            return
        wanted = [r.value for r in roles] + (["organisation"] if organisations else [])
        raise Forbidden(f"this needs one of: {', '.join(wanted)}", required=wanted)

    return guard


anyone_signed_in = allow(*StaffRole, organisations=True)
