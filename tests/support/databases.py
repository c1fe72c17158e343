"""Fresh, migrated databases for tests: an SQLite file or a new PostgreSQL database."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg

from app.migrate import migrate
from kernel.db import bind_engine, make_engine
from tests.support.services import PG_ADMIN_URL


def pg_url(database: str) -> str:
    return urlunparse(urlparse(PG_ADMIN_URL)._replace(path=f"/{database}"))


async def create_pg_database() -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url(name)


async def drop_pg_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def fresh_database(kind: str, tmp_dir: Path) -> str:
    """Creates, migrates and binds a new database; returns its URL."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_dir / f'{uuid.uuid4().hex[:8]}.sqlite'}"
    else:
        url = await create_pg_database()
    bind_engine(make_engine(url))
    await migrate()
    return url
