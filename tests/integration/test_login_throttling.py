"""Login throttling per account name and per client address, on both engines."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest

from accounts import passwords, throttle, throttle_rules
from accounts.roles import StaffRole
from app.factory import create_app
from app.in_process import lifespan
from app.settings import Settings
from audit.tables import AuditEntry
from kernel.clock import utcnow
from tests.conftest import bearer, make_staff, staff_token, unique

_hosts = itertools.count(int.from_bytes(os.urandom(2), "big"))


def new_address() -> str:
    """A client address of its own per test: counters of one address must not add up
    across tests sharing a database."""
    n = next(_hosts)
    return f"198.18.{n // 250 % 250}.{n % 250 + 1}"


def new_ipv6_network() -> str:
    """A /64 of its own per test, as its first four groups."""
    return f"2001:db8:{int.from_bytes(os.urandom(2), 'big') | 1:x}:{next(_hosts):x}"


@asynccontextmanager
async def app_clients(
    database_url: str, peers: list[str], **env: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One app; a client per peer address."""
    settings = Settings.from_env({**os.environ, "DATABASE_URL": database_url, **env})
    app = create_app(settings, engine_bound=True)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(app))
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
                    base_url="http://testserver",
                )
            )
            for peer in peers
        ]


@asynccontextmanager
async def app_client(
    database_url: str, peer: str | None = None, **env: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_clients(database_url, [peer or new_address()], **env) as (http,):
        yield http


@pytest.fixture(autouse=True)
def still_clock(monkeypatch) -> None:
    """The throttle's clock stands still, so a delay of one second cannot run out
    between two requests on a busy machine."""
    moment = utcnow()
    monkeypatch.setattr(throttle, "utcnow", lambda: moment)


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """Counts the passwords actually checked (argon2 runs), by wrapping the real check."""
    calls: list[str] = []
    real = passwords.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return calls


async def login(http: httpx.AsyncClient, username: str, password: str, **headers: str):
    return await http.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, headers=headers
    )


async def audit_rows(username: str) -> list[dict]:
    return await (
        AuditEntry.select(AuditEntry.action, AuditEntry.after)
        .where(AuditEntry.object_id == username)
        .where(AuditEntry.action.is_in(["staff.login_failed", "staff.login_locked"]))
        .order_by(AuditEntry.id)
        .run()
    )


def without_request_id(response: httpx.Response) -> dict:
    return {k: v for k, v in response.json().items() if k != "request_id"}


async def test_past_five_failures_each_attempt_waits_even_with_the_right_password(db, checked):
    user = await make_staff(StaffRole.OFFICER)
    async with app_client(db) as http:
        statuses = [(await login(http, user["username"], "wrong password")).status_code]
        statuses += [(await login(http, user["username"], "wrong password")).status_code]
        statuses += [(await login(http, user["username"], "wrong password")).status_code]
        statuses += [(await login(http, user["username"], "wrong password")).status_code]
        statuses += [(await login(http, user["username"], "wrong password")).status_code]
        assert statuses == [401] * 5
        r = await login(http, user["username"], user["password"])
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"] == "1"
        assert "try again in 1 s" in r.json()["detail"]
    assert len(checked) == 5  # the refused attempt ran no argon2


async def test_an_unknown_name_gets_the_same_answers_as_a_known_one(db):
    user = await make_staff(StaffRole.OFFICER)
    answers = {}
    async with app_client(db, LOGIN_DELAY_AFTER="2", LOGIN_LOCK_AFTER="3") as http:
        for name in (user["username"], unique("nobody")):
            answers[name] = [await login(http, name, "wrong password") for _ in range(4)]
    known, unknown = answers.values()
    assert [r.status_code for r in known] == [401, 401, 429, 429]
    assert [r.status_code for r in unknown] == [401, 401, 429, 429]
    for a, b in zip(known, unknown, strict=True):
        assert without_request_id(a) == without_request_id(b)
        assert a.headers.get("retry-after") == b.headers.get("retry-after")


async def test_a_lockout_holds_until_an_admin_unlocks_the_account(db):
    user = await make_staff(StaffRole.FINANCE)
    limits = {"LOGIN_DELAY_AFTER": "10", "LOGIN_LOCK_AFTER": "3", "LOGIN_LOCK_MINUTES": "15"}
    async with app_client(db, **limits) as http:
        for _ in range(3):
            assert (await login(http, user["username"], "wrong password")).status_code == 401
        r = await login(http, user["username"], user["password"])
        assert r.status_code == 429 and 890 <= int(r.headers["retry-after"]) <= 900
        assert [row["action"] for row in await audit_rows(user["username"])] == [
            "staff.login_failed",
            "staff.login_locked",
        ]

        _, reviewer = await staff_token(StaffRole.REVIEWER)
        path = f"/api/v1/staff/{user['id']}/unlock"
        assert (await http.post(path, headers=bearer(reviewer))).status_code == 403
        admin, token = await staff_token(StaffRole.ADMIN)
        r = await http.post(path, headers=bearer(token))
        assert r.status_code == 200, r.text
        assert r.json() == {"id": user["id"], "username": user["username"], "was_throttled": True}
        unlocked = (
            await AuditEntry.select(AuditEntry.actor, AuditEntry.before)
            .where(AuditEntry.action == "staff.unlocked")
            .where(AuditEntry.object_id == user["username"])
            .run()
        )
        assert len(unlocked) == 1 and unlocked[0]["actor"].startswith(f"staff:{admin['id']}:")
        assert '"failures":3' in unlocked[0]["before"]

        assert (await login(http, user["username"], user["password"])).status_code == 200
        missing = await http.post("/api/v1/staff/2000000000/unlock", headers=bearer(token))
        assert missing.status_code == 404


async def test_a_successful_login_starts_the_count_afresh(db):
    user = await make_staff(StaffRole.OFFICER)
    async with app_client(db, LOGIN_DELAY_AFTER="3", LOGIN_LOCK_AFTER="5") as http:
        for _ in range(2):
            assert (await login(http, user["username"], "wrong password")).status_code == 401
        assert (await login(http, user["username"], user["password"])).status_code == 200
        for _ in range(2):
            assert (await login(http, user["username"], "wrong password")).status_code == 401
        assert (await login(http, user["username"], user["password"])).status_code == 200


async def test_two_hundred_failures_write_a_handful_of_audit_rows(db, checked):
    user = await make_staff(StaffRole.OFFICER)
    # Limits high enough that every attempt really is checked and fails.
    async with app_client(
        db, LOGIN_DELAY_AFTER="500", LOGIN_LOCK_AFTER="500", LOGIN_ADDRESS_LOCK_AFTER="500"
    ) as http:
        for _ in range(200):
            assert (await login(http, user["username"], "wrong password")).status_code == 401
    assert len(checked) == 200
    rows = await audit_rows(user["username"])
    assert [row["action"] for row in rows] == ["staff.login_failed"]
    # With the default limits a flood is refused before any password check.
    other = await make_staff(StaffRole.OFFICER)
    async with app_client(db) as http:
        statuses = [(await login(http, other["username"], "wrong")).status_code for _ in range(200)]
    # Each delay (1, 2, 4 … s) lets one more attempt through if the flood lasts that
    # long; the tenth failure locks the name.
    assert statuses[:6] == [401] * 5 + [429] and statuses.count(401) <= 10
    assert len(checked) == 200 + statuses.count(401)
    assert len(await audit_rows(other["username"])) <= 2


async def test_parallel_attempts_cannot_slip_past_the_limit(db, checked):
    user = await make_staff(StaffRole.OFFICER)
    # A lockout at the fifth failure: no delay can run out while the burst lasts.
    async with app_client(db, LOGIN_DELAY_AFTER="5", LOGIN_LOCK_AFTER="5") as http:
        answers = await asyncio.gather(
            *(login(http, user["username"], "wrong password") for _ in range(20))
        )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * 5 + [429] * 15
    assert len(checked) == 5


async def test_one_address_spraying_many_names_is_stopped(db):
    address = new_address()
    async with app_client(db, peer=address, LOGIN_ADDRESS_LOCK_AFTER="4") as http:
        for _ in range(4):
            assert (await login(http, unique("spray"), "wrong password")).status_code == 401
        r = await login(http, unique("spray"), "wrong password")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 800
        # X-Forwarded-For is not read by default: a forged one changes nothing.
        forged = await login(
            http, unique("spray"), "wrong password", **{"X-Forwarded-For": new_address()}
        )
        assert forged.status_code == 429
    async with app_client(db, LOGIN_ADDRESS_LOCK_AFTER="4") as http:  # another address
        assert (await login(http, unique("spray"), "wrong password")).status_code == 401
    locked = await AuditEntry.count().where(
        (AuditEntry.action == "login.address_locked") & (AuditEntry.object_id == address)
    )
    assert locked == 1


async def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(db):
    proxy = new_address()
    settings = {"TRUSTED_PROXIES": f"{proxy}/32", "LOGIN_ADDRESS_LOCK_AFTER": "2"}
    async with app_client(db, peer=proxy, **settings) as http:
        first, second = new_address(), new_address()
        for _ in range(2):
            r = await login(http, unique("spray"), "pw", **{"X-Forwarded-For": first})
            assert r.status_code == 401
        r = await login(http, unique("spray"), "pw", **{"X-Forwarded-For": f"6.6.6.6, {first}"})
        assert r.status_code == 429  # the client, not what it wrote left of our proxy
        r = await login(http, unique("spray"), "pw", **{"X-Forwarded-For": second})
        assert r.status_code == 401


async def test_an_admin_sees_lockouts_and_unlocks_an_address(db):
    address = new_address()
    _, admin = await staff_token(StaffRole.ADMIN)
    async with app_client(db, peer=address, LOGIN_ADDRESS_LOCK_AFTER="2") as http:
        for _ in range(2):
            assert (await login(http, unique("spray"), "wrong password")).status_code == 401
        assert (await login(http, unique("spray"), "wrong password")).status_code == 429

        listed = (await http.get("/api/v1/auth/lockouts", headers=bearer(admin))).json()
        assert {"kind": "address", "name": address, "failures": 2} in [
            {k: v for k, v in row.items() if k != "blocked_until"} for row in listed
        ]
        path = "/api/v1/auth/lockouts/addresses/unlock"
        bad = await http.post(path, json={"address": "not-an-ip"}, headers=bearer(admin))
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "address"
        r = await http.post(path, json={"address": address}, headers=bearer(admin))
        assert r.json() == {"address": address, "was_throttled": True}
        assert (await login(http, unique("spray"), "wrong password")).status_code == 401
        _, officer = await staff_token(StaffRole.OFFICER)
        refused = await http.post(path, json={"address": address}, headers=bearer(officer))
        assert refused.status_code == 403
    unlocked = await AuditEntry.count().where(
        (AuditEntry.action == "login.address_unlocked") & (AuditEntry.object_id == address)
    )
    assert unlocked == 1


async def address_audit_rows(address: str) -> list[str]:
    """Actions of the entries that name `address`: failures tried from it, its lockout."""
    rows = await (
        AuditEntry.select(AuditEntry.action)
        .where(
            ((AuditEntry.action == "login.address_locked") & (AuditEntry.object_id == address))
            | AuditEntry.after.like(f'%"address":"{address}"%')
        )
        .order_by(AuditEntry.id)
        .run()
    )
    return [row["action"] for row in rows]


async def test_a_parallel_spray_of_names_from_one_address_stops_at_the_address_limit(db, checked):
    address = new_address()
    async with app_client(db, peer=address, LOGIN_ADDRESS_LOCK_AFTER="4") as http:
        answers = await asyncio.gather(
            *(login(http, unique("spray"), "wrong password") for _ in range(30))
        )
    assert sorted(r.status_code for r in answers) == [401] * 4 + [429] * 26
    assert len(checked) == 4
    # The first three names each, then the lockout with its count: not a row per name.
    assert (
        sorted(await address_audit_rows(address))
        == ["login.address_locked"]
        + ["staff.login_failed"] * throttle_rules.NAMES_AUDITED_PER_ADDRESS
    )


async def test_an_ipv6_client_is_counted_by_its_64(db):
    network = new_ipv6_network()
    peers = [f"{network}::1", f"{network}::2", f"{network}:ffff:ffff:ffff:ffff"]
    elsewhere = f"{new_ipv6_network()}::1"
    _, admin = await staff_token(StaffRole.ADMIN)
    async with app_clients(db, [*peers, elsewhere], LOGIN_ADDRESS_LOCK_AFTER="2") as clients:
        first, second, third, other = clients
        assert (await login(first, unique("spray"), "wrong password")).status_code == 401
        assert (await login(second, unique("spray"), "wrong password")).status_code == 401
        assert (await login(third, unique("spray"), "wrong password")).status_code == 429
        assert (await login(other, unique("spray"), "wrong password")).status_code == 401

        listed = (await first.get("/api/v1/auth/lockouts", headers=bearer(admin))).json()
        assert {"kind": "address", "name": f"{network}::/64", "failures": 2} in [
            {k: v for k, v in row.items() if k != "blocked_until"} for row in listed
        ]
        path = "/api/v1/auth/lockouts/addresses/unlock"
        r = await first.post(path, json={"address": f"{network}::/64"}, headers=bearer(admin))
        assert r.json() == {"address": f"{network}::/64", "was_throttled": True}
        assert (await login(third, unique("spray"), "wrong password")).status_code == 401
        wide = await first.post(path, json={"address": "2001:db8::/48"}, headers=bearer(admin))
        assert wide.status_code == 400 and wide.json()["errors"][0]["field"] == "address"


async def test_a_success_takes_back_its_attempt_but_does_not_reset_the_address(db):
    address = new_address()
    user = await make_staff(StaffRole.OFFICER)
    async with app_client(db, peer=address, LOGIN_ADDRESS_LOCK_AFTER="5") as http:
        for _ in range(4):
            assert (await login(http, unique("typo"), "wrong password")).status_code == 401
        # Counted as the fifth attempt, then taken back: neither locks the address.
        for _ in range(3):
            assert (await login(http, user["username"], user["password"])).status_code == 200
        assert (await login(http, unique("typo"), "wrong password")).status_code == 401
        assert (await login(http, user["username"], user["password"])).status_code == 429
    assert await address_audit_rows(address) == ["staff.login_failed"] * 3 + [
        "login.address_locked"
    ]
