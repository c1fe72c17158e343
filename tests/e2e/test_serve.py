"""`make serve`'s command as a newcomer runs it: migrate, seed once, serve, print where
the docs are, stop cleanly on Ctrl-C without losing a job."""

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import processes, waiting
from tests.support.server import start_server

pytestmark = pytest.mark.slow

SLOW_JOBS = {"JOB_HANDLER_MODULES": "tests.support.slow_jobs", "SWEEP_INTERVAL_SECONDS": "0.5"}


def insert_job(db_path, marker: str, steps: int, not_before: datetime | None = None) -> int:
    """Writes a pending, never-sent job row straight into the database file."""
    with sqlite3.connect(db_path) as conn:
        payload = json.dumps({"marker": marker, "steps": steps, "step_seconds": 0.25})
        cur = conn.execute(
            "INSERT INTO job (kind, payload, status, attempts, max_attempts, progress, created_by,"
            " created_at, updated_at, not_before) VALUES ('test.slow_effect', ?, 'pending', 0, 5,"
            " 0, 'test', ?, ?, ?)",
            (
                payload,
                str(datetime.now(UTC)),
                str(datetime.now(UTC)),
                str(not_before) if not_before else None,
            ),
        )
        return cur.lastrowid


def job_status(db_path, job_id: int) -> tuple[str, int]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT status, attempts FROM job WHERE id = ?", (job_id,)).fetchone()


def effects(db_path, marker: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT count(*) FROM audit_entry WHERE action = 'test.effect' AND object_id = ?",
            (marker,),
        ).fetchone()[0]


async def wait_for_status(db_path, job_id: int, status: str) -> None:
    def jobs_moved() -> tuple:
        with sqlite3.connect(db_path) as conn:
            return conn.execute("SELECT max(updated_at), max(id) FROM job").fetchone()

    await waiting.until(
        lambda: job_status(db_path, job_id),
        lambda row: row[0] == status,
        f"job {job_id} {status}",
        progress=jobs_moved,
        poll_seconds=0.1,
    )


async def test_serve_seeds_once_serves_and_stops_cleanly_without_losing_jobs(tmp_path):
    data = tmp_path / "var"
    server = start_server(data, **SLOW_JOBS)
    db_path = data / "registry.sqlite"
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            assert (await http.get("/api/v1/health")).json()["database"] == "sqlite"
            assert (await http.get("/schema/openapi.json")).status_code == 200
            login = await http.post(
                "/api/v1/auth/login",
                json={"username": "demo-admin", "password": server.credential("staff demo-admin")},
            )
            assert login.status_code == 200
            key = server.credential("org enterprise")
            me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
            assert me.json()["org_type"] == "enterprise"
        # A job in flight when Ctrl-C comes finishes before the process exits.
        in_flight = insert_job(db_path, "in-flight", steps=8)
        await wait_for_status(db_path, in_flight, "running")
        # A job not yet due stays pending through the restart.
        later = insert_job(
            db_path, "later", steps=0, not_before=datetime.now(UTC) + timedelta(seconds=4)
        )
    finally:
        code = server.interrupt()
    out = server.output()
    assert code == 0, out
    assert "/schema/swagger" in out and "demo-admin" in out
    assert job_status(db_path, in_flight) == ("done", 1) and effects(db_path, "in-flight") == 1
    assert job_status(db_path, later)[0] == "pending"

    again = start_server(data, **SLOW_JOBS)
    try:
        await wait_for_status(db_path, later, "done")
        with sqlite3.connect(db_path) as conn:
            staff = conn.execute("SELECT count(*) FROM staff_user").fetchone()[0]
            orgs = conn.execute("SELECT count(*) FROM organisation").fetchone()[0]
        assert (staff, orgs) == (5, 4)  # the second start seeded nothing
    finally:
        assert again.interrupt() == 0
    assert effects(db_path, "later") == 1


async def test_many_concurrent_writes_on_sqlite_across_two_server_processes(tmp_path):
    data = tmp_path / "var"
    server = start_server(data, WEB_WORKERS="2", LOG_LEVEL="WARNING")
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            login = await http.post(
                "/api/v1/auth/login",
                json={"username": "demo-admin", "password": server.credential("staff demo-admin")},
            )
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            org_id = 1

            async def write(i: int) -> int:
                r = await http.post(
                    f"/api/v1/organisations/{org_id}/api-keys",
                    json={"label": f"load {i}"},
                    headers=admin,
                )
                return r.status_code

            codes = await asyncio.gather(*(write(i) for i in range(300)))
            assert codes.count(201) == 300, sorted(set(codes))
            keys = await http.get(f"/api/v1/organisations/{org_id}/api-keys", headers=admin)
            assert len(keys.json()) == 301
    finally:
        assert server.interrupt() == 0
    verify = processes.start(
        [str(processes.VENV_BIN / "python"), "-m", "app", "audit-verify"],
        tmp_path / "verify.log",
        DATA_DIR=str(data),
    )
    assert verify.wait(timeout=60) == 0, (tmp_path / "verify.log").read_text()
    assert "database is locked" not in server.output()
