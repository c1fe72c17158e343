"""Staff accounts and their login sessions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from accounts import credentials, passwords, principal_cache, throttle
from accounts.principal import Principal
from accounts.roles import StaffRole, format_roles, parse_roles
from accounts.tables import StaffSession, StaffUser
from accounts.throttle import DEFAULT_LIMITS, LoginLimits
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthenticated

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def _check_new(username: str, roles: list[str], password: str) -> frozenset[StaffRole]:
    errors: list[FieldError] = []
    if not (3 <= len(username) <= 64 and set(username) <= USERNAME_CHARS):
        errors.append(FieldError("username", "3-64 characters of a-z, 0-9, '.', '_' or '-'"))
    valid = {r.value for r in StaffRole}
    unknown = [r for r in roles if r not in valid]
    if unknown or not roles:
        errors.append(FieldError("roles", f"at least one of {', '.join(sorted(valid))}"))
    try:
        passwords.check_strength(password)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return frozenset(StaffRole(r) for r in roles)


async def create_staff(
    actor: str, username: str, display_name: str, roles: list[str], password: str
) -> dict[str, Any]:
    role_set = _check_new(username, roles, password)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    async with unit_of_work():
        if await StaffUser.exists().where(StaffUser.username == username).run():
            raise Conflict("username is taken", field="username")
        with conflict_on_duplicate("username is taken", "username"):
            rows = (
                await StaffUser.insert(
                    StaffUser(
                        username=username,
                        display_name=display_name or username,
                        roles=format_roles(role_set),
                        password_hash=password_hash,
                    )
                )
                .returning(StaffUser.id)
                .run()
            )
        user = {
            "id": rows[0]["id"],
            "username": username,
            "display_name": display_name,
            "roles": sorted(role_set),
            "active": True,
        }
        await record(actor, "staff.created", "staff_user", user["id"], after=user)
    return user


async def list_staff(after_id: int | None, limit: int) -> list[dict[str, Any]]:
    query = StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.roles, StaffUser.active
    )
    if after_id is not None:
        query = query.where(StaffUser.id > after_id)
    rows = await query.order_by(StaffUser.id).limit(limit).run()
    for row in rows:
        row["roles"] = sorted(parse_roles(row["roles"]))
    return rows


async def set_active(actor: Principal, user_id: int, active: bool) -> None:
    async with unit_of_work():
        user = await StaffUser.select(StaffUser.active).where(StaffUser.id == user_id).first().run()
        if user is None:
            raise NotFound("staff user not found", staff_user_id=user_id)
        await StaffUser.update({StaffUser.active: active}).where(StaffUser.id == user_id).run()
        if not active:
            await (
                StaffSession.update({StaffSession.revoked_at: utcnow()})
                .where((StaffSession.user == user_id) & StaffSession.revoked_at.is_null())
                .run()
            )
        await record(
            actor.actor,
            "staff.activated" if active else "staff.deactivated",
            "staff_user",
            user_id,
            before={"active": user["active"]},
            after={"active": active},
        )
    principal_cache.clear()  # revocations are rare; dropping everything is simplest


async def login(
    username: str,
    password: str,
    ttl_minutes: int,
    *,
    address: str = "unknown",
    limits: LoginLimits = DEFAULT_LIMITS,
) -> tuple[str, datetime]:
    """`address`: the client's, for throttling (kernel.client_address). Unknown names go
    through the same steps as known ones (a counter, a dummy hash), so neither the
    answer nor its timing tells whether an account exists."""
    attempt = await throttle.begin_attempt(username, address, limits)
    user = (
        await StaffUser.select(StaffUser.id, StaffUser.password_hash, StaffUser.active)
        .where(StaffUser.username == username)
        .first()
        .run()
    )
    ok = await asyncio.to_thread(
        passwords.verify_password, user["password_hash"] if user else passwords.DUMMY_HASH, password
    )
    if not (user and ok and user["active"]):
        await throttle.failed(username, address, attempt)
        raise Unauthenticated("wrong username or password")
    token = credentials.new_staff_token()
    expires_at = utcnow() + timedelta(minutes=ttl_minutes)
    async with unit_of_work():
        await throttle.succeeded(username, address, attempt, limits)
        rows = (
            await StaffSession.insert(
                StaffSession(
                    token_hash=credentials.digest(token), user=user["id"], expires_at=expires_at
                )
            )
            .returning(StaffSession.id)
            .run()
        )
        await record(
            f"staff:{user['id']}:{username}",
            "staff.login",
            "staff_session",
            rows[0]["id"],
            after={"expires_at": expires_at.isoformat()},
        )
    return token, expires_at


async def unlock(actor: Principal, user_id: int) -> dict[str, Any]:
    """Lifts the login delay or lockout of a staff account (admins)."""
    user = await StaffUser.select(StaffUser.username).where(StaffUser.id == user_id).first().run()
    if user is None:
        raise NotFound("staff user not found", staff_user_id=user_id)
    lifted = await throttle.clear(actor.actor, throttle.account_key(user["username"]))
    return {"id": user_id, "username": user["username"], "was_throttled": lifted is not None}


async def logout(actor: Principal) -> None:
    async with unit_of_work():
        await (
            StaffSession.update({StaffSession.revoked_at: utcnow()})
            .where(StaffSession.id == int(actor.credential))
            .run()
        )
        await record(actor.actor, "staff.logout", "staff_session", actor.credential)
    principal_cache.clear()


async def principal_for_token(token: str) -> Principal | None:
    digest = credentials.digest(token)
    return await principal_cache.cached(digest, lambda: _load_session(digest))


async def _load_session(digest: str) -> tuple[Principal, datetime] | None:
    row = (
        await StaffSession.select(
            StaffSession.id,
            StaffSession.expires_at,
            StaffSession.revoked_at,
            StaffSession.user.id.as_alias("user_id"),
            StaffSession.user.username.as_alias("username"),
            StaffSession.user.roles.as_alias("roles"),
            StaffSession.user.active.as_alias("active"),
        )
        .where(StaffSession.token_hash == digest)
        .first()
        .run()
    )
    if not row or row["revoked_at"] is not None or not row["active"]:
        return None
    if row["expires_at"] <= utcnow():
        return None
    principal = Principal(
        kind="staff",
        id=row["user_id"],
        name=row["username"],
        roles=parse_roles(row["roles"]),
        credential=str(row["id"]),
    )
    return principal, row["expires_at"]
