"""kernel.db.start_pool returns PostgreSQL connections to the pool without asyncpg's
reset query (_keep_session). That holds only while no code leaves state on a session:
this test fails the moment some code takes a session-level advisory lock, LISTENs, or
changes a setting for the session rather than the transaction."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["app", "accounts", "audit", "certificates", "kernel", "registry", "reviews",
            "subsidies", "workers"]  # fmt: skip
SESSION_STATE = {
    "a session-level advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "LISTEN": re.compile(r"[\"']\s*LISTEN\s", re.I),
    # A SET that opens a call's SQL (an UPDATE's SET continues an earlier string).
    "a session setting": re.compile(
        r"\(\s*f?[\"']\s*SET\s+(?!LOCAL\b)|set_config\([^)]*false", re.I
    ),
    "a cursor kept past its transaction": re.compile(r"WITH\s+HOLD", re.I),
}


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]


def test_no_code_leaves_state_on_a_pooled_session():
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in _sources()
        for what, pattern in SESSION_STATE.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, "kernel.db._keep_session would leak these to the next request: " + str(found)


def test_the_check_sees_what_it_looks_for():
    samples = {
        "a session-level advisory lock": "SELECT pg_advisory_lock(42)",
        "LISTEN": "await conn.execute('LISTEN jobs')",
        "a session setting": "await conn.execute('SET statement_timeout = 5')",
        "a cursor kept past its transaction": "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
    }
    for what, sample in samples.items():
        assert SESSION_STATE[what].search(sample), what
    assert not SESSION_STATE["a session setting"].search("execute('SET LOCAL jit = off')")
    assert not SESSION_STATE["a session setting"].search('execute("UPDATE t "\n "SET a = 1")')
    assert not SESSION_STATE["a session-level advisory lock"].search(
        "SELECT pg_advisory_xact_lock(42)"
    )
