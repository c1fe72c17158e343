"""The command line: first admin, idempotent migrate and seed, chain verification."""

import sqlite3
import subprocess

import pytest

from tests.support.processes import ROOT, VENV_BIN, env_for

pytestmark = pytest.mark.slow


def run(data_dir, *args, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "python"), "-m", "app", *args],
        cwd=ROOT,
        input=stdin,
        text=True,
        capture_output=True,
        env=env_for(DATA_DIR=str(data_dir)),
        timeout=120,
    )


def counts(db_path) -> tuple[int, ...]:
    with sqlite3.connect(db_path) as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("staff_user", "organisation", "api_key", "audit_entry")
        )


def test_migrate_seed_admin_and_verify(tmp_path):
    db_path = tmp_path / "registry.sqlite"
    assert run(tmp_path, "migrate").returncode == 0
    assert run(tmp_path, "migrate").returncode == 0  # nothing left to apply
    first = run(tmp_path, "seed-demo")
    assert first.returncode == 0 and "demo data seeded" in first.stdout
    before = counts(db_path)
    second = run(tmp_path, "seed-demo")
    assert "nothing added" in second.stdout and counts(db_path) == before

    made = run(
        tmp_path,
        "create-admin",
        "--username",
        "chief",
        "--password-stdin",
        stdin="a very long password\n",
    )
    assert made.returncode == 0, made.stderr
    weak = run(tmp_path, "create-admin", "--username", "weak", "--password-stdin", stdin="short\n")
    assert weak.returncode != 0 and "password" in weak.stderr
    with sqlite3.connect(db_path) as conn:
        roles, pw = conn.execute(
            "SELECT roles, password_hash FROM staff_user WHERE username = 'chief'"
        ).fetchone()
    assert roles == "admin" and pw.startswith("$argon2id$")

    assert run(tmp_path, "audit-verify").returncode == 0
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 2")
    broken = run(tmp_path, "audit-verify")
    assert broken.returncode == 1 and "BROKEN at seq 2" in broken.stderr
