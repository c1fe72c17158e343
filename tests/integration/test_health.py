"""Liveness and readiness probes against real services: a broker on a closed port and
a database that is gone answer 503 naming what is down."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.factory import create_app
from app.settings import Settings
from kernel.db import bind_engine, close_pool, make_engine, start_pool
from tests.support import databases
from tests.support.asgi import serve
from tests.support.services import RABBIT_URL, REDIS_URL, require


@asynccontextmanager
async def probe(database_url: str, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app (no worker, no sweeper) on the bound engine, with `env` overriding."""
    settings = Settings.from_env({**os.environ, "DATABASE_URL": database_url, **env})
    async with serve(create_app(settings, engine_bound=True, run_jobs=False)) as http:
        yield http


async def test_liveness_answers_without_credentials_or_input_output(db):
    async with probe(db) as http:
        r = await http.get("/api/v1/health/live")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        summary = await http.get("/api/v1/health")  # unchanged
        assert summary.status_code == 200 and summary.json()["status"] == "ok"


async def test_ready_with_the_embedded_broker_checks_the_database(db):
    async with probe(db, BROKER_URL="") as http:
        r = await http.get("/api/v1/health/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["down"] == []
    database, broker = body["checks"]["database"], body["checks"]["broker"]
    assert database["ok"] and database["detail"] in ("sqlite", "postgres"), database
    assert broker["ok"] and broker["detail"] == "embedded", broker


async def test_ready_reaches_real_rabbitmq_and_redis(db):
    require("rabbitmq")
    require("redis")
    for url, name in ((RABBIT_URL, "rabbitmq"), (REDIS_URL, "redis")):
        async with probe(db, BROKER_URL=url) as http:
            r = await http.get("/api/v1/health/ready")
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["broker"]["detail"] == name


async def test_a_broker_on_a_closed_port_is_503_naming_the_broker(db):
    for url in ("amqp://guest:secret@127.0.0.1:1/%2F", "redis://127.0.0.1:1/0"):
        async with probe(db, BROKER_URL=url) as http:
            r = await http.get("/api/v1/health/ready")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["down"] == ["broker"] and body["checks"]["database"]["ok"], body
        assert "broker" in body["message"] and not body["checks"]["broker"]["ok"]
        assert "secret" not in r.text  # the URL's password is never shown
        async with probe(db, BROKER_URL=url) as http:
            assert (await http.get("/api/v1/health/live")).status_code == 200


async def test_a_database_that_is_gone_is_503_naming_the_database(db, tmp_path):
    if db.startswith("sqlite"):
        gone = f"sqlite:///{tmp_path}"  # a folder, not a database file
        bind_engine(make_engine(gone))
    else:
        gone = await databases.create_pg_database()
        bind_engine(make_engine(gone))
        await start_pool(2)
    try:
        async with probe(gone) as http:
            if not db.startswith("sqlite"):
                assert (await http.get("/api/v1/health/ready")).status_code == 200
                await databases.drop_pg_database(gone)  # stops it under the running app
            r = await http.get("/api/v1/health/ready")
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["down"] == ["database"] and body["checks"]["broker"]["ok"], body
            assert "database" in body["message"]
            assert (await http.get("/api/v1/health/live")).status_code == 200
            # The process's own stop needs a database (it seals the audit log).
            await close_pool()
            bind_engine(make_engine(db))
            await start_pool(10)
    finally:
        bind_engine(make_engine(db))
