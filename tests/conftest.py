"""Shared fixtures. Integration tests run once per engine (SQLite, PostgreSQL)."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# Before any project import: the embedded broker, and data under a temporary folder.
os.environ.pop("BROKER_URL", None)
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="registry-test-"))
os.environ.setdefault("JOB_HANDLER_MODULES", "tests.support.slow_jobs")

import httpx
import pytest

from accounts import api_keys, staff
from accounts.principal import SYSTEM, Principal
from accounts.roles import StaffRole
from app.factory import create_app
from app.settings import Settings
from kernel.db import bind_engine, close_pool, make_engine, start_pool
from registry import organisations
from registry.credit_codes import make_credit_code
from tests.support import databases
from tests.support.asgi import serve
from tests.support.services import require

ENGINES = ["sqlite", "postgresql"]
_serial = itertools.count(int.from_bytes(os.urandom(2), "big") * 1000)


def unique(prefix: str = "u") -> str:
    return f"{prefix}{next(_serial)}"


@pytest.fixture(scope="session")
def tmp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(scope="session", params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_dir: Path) -> AsyncIterator[str]:
    """One migrated database per engine for the whole session."""
    if request.param == "postgresql":
        require("postgresql")
    url = await databases.fresh_database(request.param, tmp_dir)
    yield url
    if request.param == "postgresql":
        await close_pool()
        await databases.drop_pg_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Binds the engine of this parametrisation (others may have been bound since)."""
    bind_engine(make_engine(database_url))
    await start_pool(10)
    yield database_url
    await close_pool()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_env({**os.environ, "DATABASE_URL": database_url})


@pytest.fixture
async def client(db: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings, engine_bound=True)) as http:
        yield http


async def make_staff(*roles: StaffRole, password: str = "correct horse battery") -> dict[str, Any]:
    user = await staff.create_staff(
        SYSTEM.actor, unique("staff"), "Test", [r.value for r in roles], password
    )
    return {**user, "password": password}


async def staff_token(*roles: StaffRole) -> tuple[dict[str, Any], str]:
    user = await make_staff(*roles)
    token, _ = await staff.login(user["username"], user["password"], ttl_minutes=30)
    return user, token


ADMIN = Principal(kind="staff", id=0, name="test-admin", roles=frozenset({StaffRole.ADMIN}))


async def make_org(org_type: str = "enterprise") -> dict[str, Any]:
    return await organisations.create(
        ADMIN,
        organisations.NewOrganisation(
            name=unique("企业"),
            org_type=org_type,
            credit_code=make_credit_code(next(_serial)),
            town="长安",
        ),
    )


async def org_key(org_type: str = "enterprise") -> tuple[dict[str, Any], str]:
    org = await make_org(org_type)
    key = await api_keys.issue(ADMIN, org["id"], "test")
    return org, key["key"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Records what would go to the broker instead of sending it, so a test drives
    claims by hand."""
    messages: list[int] = []

    async def fake_send(job_id: int) -> None:
        messages.append(job_id)

    monkeypatch.setattr("workers.broker.send_job", fake_send)
    return messages
