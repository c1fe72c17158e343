"""`make demo`'s command: the whole path on a fresh embedded database, and its figures
checked against the database it leaves."""

import csv
import sqlite3
import subprocess

import pytest

from tests.support.processes import ROOT, VENV_BIN, env_for

pytestmark = pytest.mark.slow


def test_the_demo_runs_the_whole_path_and_pays_each_approved_claim_once(tmp_path):
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "app", "demo", "--people", "24"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env=env_for(DATA_DIR=str(tmp_path)),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo finished" in done.stdout and "now closed" in done.stdout, done.stdout

    with sqlite3.connect(tmp_path / "registry.sqlite") as conn:
        by_status = dict(
            conn.execute("SELECT status, count(*) FROM claim GROUP BY status").fetchall()
        )
        paid_total = conn.execute(
            "SELECT sum(amount_fen) FROM claim WHERE status = 'paid'"
        ).fetchone()[0]
        lines = conn.execute("SELECT count(*), sum(amount_fen) FROM batch_line").fetchone()
        batches = conn.execute("SELECT status, declared_count FROM disbursement_batch").fetchall()
        documents = conn.execute("SELECT kind, storage_path FROM document").fetchall()
        schemes = {
            r[0] for r in conn.execute("SELECT DISTINCT scheme FROM claim WHERE status = 'paid'")
        }
    # Every claim went through: nothing waits, zero-amount months stay approved, unpaid.
    assert set(by_status) <= {"paid", "approved"}, by_status
    assert schemes == {"skill_level", "internship", "training_voucher"}
    assert batches == [("closed", lines[0])] and lines[1] == paid_total > 0
    assert f"{paid_total // 100:,}.{paid_total % 100:02d}" in done.stdout

    # A notice per line and one summary, each stored where its row says.
    kinds = [kind for kind, _ in documents]
    assert kinds.count("disbursement_notice") == lines[0] and kinds.count("batch_summary") == 1
    assert all((tmp_path / path).is_file() for _, path in documents)
    assert "genuine" in done.stdout and "NOT genuine" not in done.stdout

    payment_file = next(tmp_path.glob("demo-files/PB-*-payment-file.csv"))
    with payment_file.open(encoding="utf-8-sig") as f:
        *paid_lines, control = list(csv.DictReader(f))
    assert len(paid_lines) == lines[0]
    assert (control["序号"], control["收款账号"]) == ("合计", str(lines[0]))
    # A second run on the same database refuses instead of mixing two demos.
    again = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "app", "demo", "--people", "24"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env=env_for(DATA_DIR=str(tmp_path)),
        timeout=120,
    )
    assert again.returncode != 0 and "fresh database" in again.stderr
