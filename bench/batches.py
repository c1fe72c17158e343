"""Disbursement batches at scale: N approved claims (default 10,000) with their payees'
accounts, then build (preview, build and submit), approve, the payment file (CSV and
XLSX), and a reconciliation of an all-paid return file, timed step by step on SQLite
and PostgreSQL. Service functions are called directly (no HTTP); the claims are written
in bulk first, timed apart.

    python bench/batches.py
    python bench/batches.py --claims 50000 --engines sqlite

No target is set by the issue for these steps; the figures are for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-batches-"))

from accounts.principal import Principal  # noqa: E402
from accounts.roles import StaffRole  # noqa: E402
from audit.sealer import seal_pending  # noqa: E402
from kernel.db import bind_engine, close_pool, make_engine, start_pool, unit_of_work  # noqa: E402
from registry import organisations  # noqa: E402
from registry.credit_codes import make_credit_code  # noqa: E402
from subsidies.batches import approval, building, payment_file, reconciliation  # noqa: E402
from subsidies.batches.rules import yuan  # noqa: E402
from subsidies.batches.selection import Filters  # noqa: E402
from subsidies.batches.totals import checked_lines, load_batch  # noqa: E402
from subsidies.claims.tables import Claim  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.services import require  # noqa: E402


def finance(user_id: int) -> Principal:
    return Principal("staff", user_id, f"bench-finance-{user_id}", frozenset({StaffRole.FINANCE}))


async def seed(n: int, scheme: str) -> None:
    org = await organisations.create(
        finance(1),
        organisations.NewOrganisation(
            name="基准测试企业", org_type="enterprise",
            credit_code=make_credit_code(int(time.time()) % 10**8), town="长安",
            bank_name="东莞农村商业银行", bank_account="8002000012345678",
            bank_account_name="基准测试企业有限公司",
        ),
    )  # fmt: skip
    rows = [
        Claim(
            scheme=scheme,
            origin="application",
            dedupe_key=f"{scheme}:{i}",
            status="approved",
            claimant=org["id"],
            payee_kind="organisation",
            payee_organisation=org["id"],
            basis_date=date(2026, 3, 1),
            budget_year=2026,
            amount_fen=100_000 + i % 800_000,
            submitted_by="bench",
        )
        for i in range(n)
    ]
    for start in range(0, n, 1000):
        async with unit_of_work():
            await Claim.insert(*rows[start : start + 1000]).run()


async def timed(label: str, figures: dict[str, float], coro):
    started = time.perf_counter()
    result = await coro
    figures[label] = time.perf_counter() - started
    return result


async def run(kind: str, n: int, tmp: Path) -> dict[str, float]:
    if kind == "postgresql":
        require("postgresql")
    url = await databases.fresh_database(kind, tmp)
    bind_engine(make_engine(url))
    await start_pool(10)
    figures: dict[str, float] = {}
    try:
        scheme = "bench_batches"
        await timed("seed (not a step)", figures, seed(n, scheme))
        filters = Filters(scheme=scheme)
        preview = await timed("preview", figures, building.preview(filters))
        assert preview.count == n
        batch_id, _ = await timed("build + submit", figures, building.build(finance(1), filters))
        await timed("approve (totals check)", figures, approval.approve(finance(2), batch_id))
        batch = await load_batch(batch_id)
        lines = await timed("checked_lines", figures, checked_lines(batch_id))
        data_dir = Path(os.environ["DATA_DIR"])
        await timed(
            "payment file CSV+XLSX",
            figures,
            asyncio.to_thread(payment_file.write_files, data_dir, batch["number"], lines),
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["reference", "amount", "result", "reason"])
        writer.writerows((x["reference"], yuan(x["amount_fen"]), "paid", "") for x in lines)
        report = await timed(
            "reconcile (all paid, closes)",
            figures,
            reconciliation.import_return(finance(3), batch_id, out.getvalue().encode(), data_dir),
        )
        assert report.paid == n and report.status == "closed", report
    finally:
        await seal_pending()  # the audit sealer's own round must not outlive the database
        await asyncio.sleep(0.2)
        await close_pool()
        if kind == "postgresql":
            await databases.drop_pg_database(url)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-batches-db-"))
    for kind in args.engines.split(","):
        figures = asyncio.run(run(kind, args.claims, tmp))
        print(f"\n{kind}: {args.claims:,} claims")
        for label, seconds in figures.items():
            print(f"  {label:<32} {seconds:8.2f} s")


if __name__ == "__main__":
    main()
