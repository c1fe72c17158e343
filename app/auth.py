"""Authentication: `Authorization: Bearer <token>` carries a staff login token (st_…)
or an organisation API key (sk_…); `X-API-Key: sk_…` is accepted too."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from accounts.api_keys import principal_for_key
from accounts.credentials import API_KEY_PREFIX, STAFF_TOKEN_PREFIX
from accounts.staff import principal_for_token

PUBLIC_OPT = "public"


class CredentialAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        secret = _presented_secret(connection)
        if not secret:
            raise NotAuthorizedException("missing credentials: send Authorization: Bearer …")
        principal = None
        if secret.startswith(STAFF_TOKEN_PREFIX):
            principal = await principal_for_token(secret)
        elif secret.startswith(API_KEY_PREFIX):
            principal = await principal_for_key(secret)
        if principal is None:
            raise NotAuthorizedException("unknown, expired or revoked credentials")
        return AuthenticationResult(user=principal, auth=secret[:3])


def _presented_secret(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.headers.get("x-api-key", "").strip()
