"""`make demo`: the whole path on the embedded default, through the HTTP API as its users
drive it. A fresh SQLite file under the demo's data folder; organisations, people, an
institution's outcome report as a file, employments, the automatic scan, internship
months, training vouchers, calculations, approvals by distinct staff accounts, a
disbursement batch, its payment file and PDFs; then a short summary.

Data are generated from a fixed seed, so two runs give the same figures."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from accounts import staff
from accounts.principal import SYSTEM
from kernel.clock import local_today
from registry.credit_codes import make_credit_code
from registry.outcomes.columns import COLUMNS
from registry.resident_ids import compose

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌海燕"
WELDER = ("6-18-02-04", "焊工")
ELECTRICIAN = ("6-31-01-03", "电工")
REGIONS = ("441900", "440105", "445202", "430102", "511702")


class DemoError(RuntimeError):
    """A step of the path answered otherwise than its user expects; names the call."""


@dataclass
class Actors:
    """Headers per user: staff by token, organisations by API key."""

    staff: dict[str, dict[str, str]] = field(default_factory=dict)
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def org(self, name: str) -> dict[str, str]:
        return self.orgs[name]["headers"]


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self, method: str, url: str, headers: dict[str, str], expect: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.client.request(method, url, headers=headers, **kwargs)
        if response.status_code != expect:
            raise DemoError(f"{method} {url}: {response.status_code} {response.text[:400]}")
        return response.json() if response.content else None

    async def job(self, url: str, headers: dict[str, str], minutes: float = 10) -> dict[str, Any]:
        for _ in range(int(minutes * 600)):
            job = await self.call("GET", url, headers)
            if job["status"] == "done":
                return job
            if job["status"] == "failed":
                raise DemoError(f"job {url} failed: {job.get('error')}")
            await asyncio.sleep(0.1)
        raise DemoError(f"job {url} did not finish")

    async def items(self, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paged listing."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = await self.call("GET", url, headers, params=query)
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    async def all_claims(self, headers: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
        return await self.items("/api/v1/claims", headers, **filters)


@dataclass
class Person:
    id_number: str
    name: str
    bank_account: str


def people(rng: random.Random, count: int) -> list[Person]:
    made: list[Person] = []
    for i in range(count):
        birth = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 28))
        region = REGIONS[i % len(REGIONS)]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        account = "6221" + "".join(str(rng.randrange(10)) for _ in range(12))
        made.append(Person(compose(region, birth, 100 + i * 7), name, account))
    return made


def report_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.zh for c in COLUMNS])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def outcome_row(
    person: Person,
    course: str,
    occupation: tuple[str, str],
    start: date,
    end: date,
    certificate: tuple[str, int, date] | None = None,
    issuer_code: str = "",
) -> list[str]:
    number, level, issued = certificate or ("", 0, None)
    return [
        person.id_number,
        person.name,
        course,
        occupation[0],
        occupation[1],
        "80",
        start.isoformat(),
        end.isoformat(),
        "是",
        number,
        str(level) if level else "",
        issued.isoformat() if issued else "",
        issuer_code if certificate else "",
    ]


async def staff_accounts(api: Api) -> Actors:
    """Two officers and two finance users, so no one approves what they prepared."""
    actors = Actors()
    for username, roles in (
        ("demo-admin", ["admin"]),
        ("demo-officer-a", ["officer"]),
        ("demo-officer-b", ["officer"]),
        ("demo-finance-a", ["finance"]),
        ("demo-finance-b", ["finance"]),
    ):
        password = secrets.token_urlsafe(12)
        await staff.create_staff(SYSTEM.actor, username, username, roles, password)
        login = await api.call(
            "POST",
            "/api/v1/auth/login",
            {},
            json={"username": username, "password": password},
        )
        actors.staff[username.removeprefix("demo-")] = {"Authorization": f"Bearer {login['token']}"}
    return actors


ORGS = (
    ("precision", "东莞市精工模具有限公司", "enterprise", "长安"),
    ("electronics", "东莞市华信电子有限公司", "enterprise", "松山湖"),
    ("institute", "东莞市技能培训学院", "training_institution", "南城"),
    ("evaluator", "东莞市职业技能评价中心", "evaluation_organisation", "东城"),
)


async def organisations(api: Api, actors: Actors, rng: random.Random) -> None:
    officer = actors.staff["officer-a"]
    for serial, (short, name, org_type, town) in enumerate(ORGS, start=101):
        body = {
            "name": name,
            "org_type": org_type,
            "credit_code": make_credit_code(serial),
            "town": town,
            "bank_name": "东莞银行",
            "bank_account": "5600" + "".join(str(rng.randrange(10)) for _ in range(14)),
            "bank_account_name": name,
        }
        org = await api.call("POST", "/api/v1/organisations", officer, json=body, expect=201)
        key = await api.call(
            "POST",
            f"/api/v1/organisations/{org['id']}/api-keys",
            actors.staff["admin"],
            json={"label": "demo"},
            expect=201,
        )
        actors.orgs[short] = {**org, "headers": {"Authorization": f"Bearer {key['key']}"}}


async def upload_report(api: Api, actors: Actors, body: bytes, path: Path) -> dict[str, Any]:
    await asyncio.to_thread(path.write_bytes, body)  # the file as the institution sent it
    headers = {**actors.org("institute"), "Content-Type": "application/octet-stream"}
    report = await api.call(
        "POST",
        "/api/v1/outcome-reports",
        headers,
        content=body,
        params={"filename": path.name},
        expect=202,
    )
    await api.job(f"/api/v1/jobs/{report['job_id']}", actors.org("institute"))
    return await api.call("GET", f"/api/v1/outcome-reports/{report['id']}", actors.org("institute"))


async def registry_phase(
    api: Api, actors: Actors, crowd: list[Person], evaluator_code: str, out: Path
) -> dict[str, Any]:
    """Last year's courses with certificates at every level, as the institution's file."""
    rows = []
    for i, person in enumerate(crowd):
        start = date(2025, 3, 3) + timedelta(days=7 * (i % 20))
        end = start + timedelta(days=40)
        level = (5, 4, 4, 3, 3, 3, 2, 1)[i % 8]
        occupation = WELDER if i % 3 else ELECTRICIAN
        certificate = (f"DG2025-{i + 1:05d}", level, end + timedelta(days=10))
        course = f"{occupation[1]}培训"
        row = outcome_row(person, course, occupation, start, end, certificate, evaluator_code)
        rows.append(row)
    return await upload_report(api, actors, report_csv(rows), out / "outcome-report-2025.csv")


async def employments(api: Api, actors: Actors, crowd: list[Person]) -> None:
    for i, person in enumerate(crowd):
        employer = ("precision", "electronics")[i % 2]
        body = {"id_number": person.id_number, "started_on": "2024-01-02", "insured": True}
        await api.call("POST", "/api/v1/employments", actors.org(employer), json=body, expect=201)


async def ids_by_number(api: Api, actors: Actors) -> dict[str, int]:
    people = await api.items(
        "/api/v1/people", actors.staff["officer-a"], organisation=actors.orgs["institute"]["id"]
    )
    return {p["id_number"]: p["id"] for p in people}


async def automatic_scan(api: Api, actors: Actors, crowd: list[Person], ids: dict[str, int]) -> int:
    """The scan proposes skill-level claims; each employer gives its people's accounts,
    which are proposals: officer A confirms them, and since the people have claims that
    are not yet paid, officer B confirms each change. The employers then confirm their
    claims against the accounts on record."""
    officer, second = actors.staff["officer-a"], actors.staff["officer-b"]
    started = await api.call("POST", "/api/v1/scans", officer, json={}, expect=202)
    await api.job(started["job_url"], officer)
    accounts = {ids[p.id_number]: p.bank_account for p in crowd}
    proposed: dict[str, list[dict[str, Any]]] = {}
    proposals: dict[int, int] = {}  # proposal id -> person id
    for employer in ("precision", "electronics"):
        h = actors.org(employer)
        proposed[employer] = await api.all_claims(h, scheme="skill_level", status="proposed")
        for claim in proposed[employer]:
            body = {"bank_name": "东莞农村商业银行", "bank_account": accounts[claim["person_id"]]}
            url = f"/api/v1/claims/{claim['id']}/confirm-account"
            pending = await api.call("POST", url, h, json=body, expect=202)
            proposals[pending["proposal_id"]] = claim["person_id"]
    for proposal_id, person_id in proposals.items():
        url = f"/api/v1/people/{person_id}/payment-account"
        await api.call("POST", f"{url}/proposals/{proposal_id}/confirmation", officer)
        shown = await api.call("GET", url, second)
        await api.call("POST", f"{url}/confirmation", second, json={"set_at": shown["set_at"]})
    confirmed = 0
    for employer, claims in proposed.items():
        h = actors.org(employer)
        for claim in claims:
            await api.call("POST", f"/api/v1/claims/{claim['id']}/confirm-account", h, json={})
            confirmed += 1
    return confirmed


async def internships(api: Api, actors: Actors, interns: list[Person], ids: dict[str, int]) -> int:
    # The bureau registers the programme; the host chooses it for each intern.
    programme = await api.call(
        "POST",
        "/api/v1/internship-programmes",
        actors.staff["officer-a"],
        json={
            "name": "百校千人-2026",
            "plan_year": 2026,
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
        expect=201,
    )
    h = actors.org("precision")
    months = 0
    for i, person in enumerate(interns):
        body = {
            "person_id": ids[person.id_number],
            "school": "东莞市技师学院",
            "programme_id": programme["id"],
            "start_date": "2026-06-01",
            "end_date": "2026-09-30",
            "insurance_reference": f"PICC-2026-{i + 1:04d}",
            "insured_from": "2026-06-01",
            "insured_to": "2026-09-30",
        }
        placement = await api.call("POST", "/api/v1/internships", h, json=body, expect=201)
        # Four months reported: the cap pays three; one month is partial.
        reports = (("2026-06", 22), ("2026-07", 23), ("2026-08", 12 + i % 9), ("2026-09", 22))
        for month, days in reports:
            report = {"month": month, "days_attended": days}
            await api.call(
                "POST", f"/api/v1/internships/{placement['id']}/months", h, json=report, expect=201
            )
            months += 1
    return months


async def vouchers(
    api: Api, actors: Actors, learners: list[Person], ids: dict[str, int], out: Path
) -> int:
    """Issued by an officer, redeemed at enrolment, claimed once the pass is reported."""
    today = local_today()
    course = f"焊工（中级）培训班 {today:%Y-%m}"
    numbers = []
    for person in learners:
        voucher = await api.call(
            "POST",
            "/api/v1/vouchers",
            actors.staff["officer-a"],
            json={"person_id": ids[person.id_number]},
            expect=201,
        )
        enrolment = {
            "id_number": person.id_number,
            "course": course,
            "occupation_code": WELDER[0],
            "course_level": 4,
            "course_start": today.isoformat(),
            "course_fee_fen": 150_000,
        }
        await api.call(
            "POST",
            f"/api/v1/vouchers/{voucher['number']}/redemption",
            actors.org("institute"),
            json=enrolment,
        )
        numbers.append(voucher["number"])
    rows = [outcome_row(p, course, WELDER, today, today) for p in learners]
    await upload_report(api, actors, report_csv(rows), out / f"outcome-report-{today:%Y-%m}.csv")
    for number in numbers:
        await api.call(
            "POST", f"/api/v1/vouchers/{number}/claim", actors.org("institute"), json={}, expect=201
        )
    return len(numbers)


async def settle_calculations(api: Api, actors: Actors) -> None:
    """Waits until every submitted claim has been through a calculation run."""
    officer = actors.staff["officer-a"]
    for _ in range(6000):
        if not await api.all_claims(officer, status="submitted"):
            return
        await asyncio.sleep(0.1)
    raise DemoError("claims stayed submitted: is a calculation job failing?")


async def approve_all(api: Api, actors: Actors, year: int) -> Counter[str]:
    finance, officer = actors.staff["finance-a"], actors.staff["officer-b"]
    for scheme in ("skill_level", "internship", "training_voucher"):
        await api.call(
            "PUT", f"/api/v1/budgets/{scheme}/{year}", finance, json={"amount_fen": 10**10}
        )
    calculated = await api.all_claims(officer, status="calculated")
    outcome: Counter[str] = Counter()
    for start in range(0, len(calculated), 200):
        ids = [c["id"] for c in calculated[start : start + 200]]
        body = await api.call("POST", "/api/v1/claims/approvals", officer, json={"claim_ids": ids})
        outcome.update(r["outcome"] for r in body["results"])
    return outcome


@dataclass
class Summary:
    people: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    proposed: int = 0
    intern_months: int = 0
    vouchers: int = 0
    approvals: Counter[str] = field(default_factory=Counter)
    by_scheme: dict[str, tuple[int, int]] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


async def run(client: httpx.AsyncClient, out: Path, size: int = 160) -> Summary:
    api, rng, summary = Api(client), random.Random(2026), Summary()
    actors = await staff_accounts(api)
    await organisations(api, actors, rng)
    crowd = people(rng, size)
    summary.people = len(crowd)
    evaluator_code = actors.orgs["evaluator"]["credit_code"]
    summary.report = await registry_phase(api, actors, crowd, evaluator_code, out)
    await employments(api, actors, crowd)
    ids = await ids_by_number(api, actors)
    summary.proposed = await automatic_scan(api, actors, crowd, ids)
    summary.intern_months = await internships(api, actors, crowd[:12], ids)
    summary.vouchers = await vouchers(api, actors, crowd[12:32], ids, out)
    await settle_calculations(api, actors)
    summary.approvals = await approve_all(api, actors, local_today().year)
    approved = await api.all_claims(actors.staff["finance-a"], status="approved")
    for scheme in sorted({c["scheme"] for c in approved}):
        mine = [c for c in approved if c["scheme"] == scheme]
        summary.by_scheme[scheme] = (len(mine), sum(c["amount_fen"] for c in mine))
    await disbursement(api, actors, summary, out)
    return summary


async def disbursement(api: Api, actors: Actors, summary: Summary, out: Path) -> None:
    """Finance A builds the batch, finance B approves it; the jobs write the payment file
    and the documents; the bank's return file (all paid, as the demo's bank) closes it."""
    builder, approver = actors.staff["finance-a"], actors.staff["finance-b"]
    preview = await api.call("POST", "/api/v1/batches/preview", builder, json={})
    created = await api.call("POST", "/api/v1/batches", builder, json={}, expect=201)
    batch = created["batch"]
    if (batch["declared_count"], batch["declared_total_fen"]) != (
        preview["count"],
        preview["total_fen"],
    ):
        raise DemoError(f"the batch declares other figures than its preview: {batch}")
    url = f"/api/v1/batches/{batch['id']}"
    await api.call("POST", f"{url}/approve", approver, json={})
    for job in (await api.call("GET", url, approver))["jobs"]:
        await api.job(f"/api/v1/jobs/{job['id']}", approver)
    for fmt in ("csv", "xlsx"):
        response = await api.client.get(f"{url}/payment-file.{fmt}", headers=approver)
        path = out / f"{batch['number']}-payment-file.{fmt}"
        await asyncio.to_thread(path.write_bytes, response.content)
        summary.files.append(f"bank payment file: {path}")
    documents = await api.call(
        "GET", "/api/v1/documents", approver, params={"batch_id": batch["id"]}
    )
    kinds = Counter(d["kind"] for d in documents)
    summary.files.append(f"documents: {dict(kinds)} under {out.parent / 'documents'}")
    for kind in ("batch_summary", "disbursement_notice"):
        document = next(d for d in documents if d["kind"] == kind)
        response = await api.client.get(
            f"/api/v1/documents/{document['id']}/download", headers=approver
        )
        path = out / f"{batch['number']}-{kind}.pdf"
        await asyncio.to_thread(path.write_bytes, response.content)
        checked = await api.call("GET", f"/verify/{document['code']}", {})
        summary.files.append(
            f"{kind} (sample): {path}  verify code {document['code']}: "
            f"{'genuine' if checked['genuine'] else 'NOT genuine'}"
        )
    returned = await bank_return_file(api, approver, url, out / f"{batch['number']}-return.csv")
    settled = await api.call(
        "POST",
        f"{url}/reconciliation",
        {**builder, "Content-Type": "text/csv"},
        content=returned,
    )
    summary.batch = {**(await api.call("GET", url, approver)), "reconciled": settled}


async def bank_return_file(api: Api, headers: dict[str, str], url: str, path: Path) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "amount", "result", "reason"])
    for line in await api.items(f"{url}/lines", headers):
        writer.writerow([line["reference"], line["amount_yuan"], "paid", ""])
    body = out.getvalue().encode("utf-8")
    await asyncio.to_thread(path.write_bytes, body)
    return body


async def run_demo(settings: Any, size: int) -> Summary:
    from accounts.tables import StaffUser
    from app.factory import create_app
    from app.in_process import serve
    from app.migrate import migrate

    await migrate()
    if await StaffUser.exists().where(StaffUser.username == "demo-officer-a").run():
        raise DemoError(
            f"{settings.database_url} already holds a demo run: the demo needs a fresh "
            "database (`make demo` deletes var/demo first)"
        )
    out = settings.data_dir / "demo-files"
    out.mkdir(parents=True, exist_ok=True)
    async with serve(create_app(settings, engine_bound=True), request_seconds=600) as client:
        return await run(client, out, size)


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def print_summary(summary: Summary, settings: Any) -> None:
    report = summary.report
    lines = [
        "",
        f"Demo finished on {settings.database_url}",
        f"  people in the outcome report     {summary.people} "
        f"(accepted {report.get('accepted')}, rejected {report.get('rejected')})",
        f"  skill-level claims proposed      {summary.proposed} (automatic scan)",
        f"  internship months reported       {summary.intern_months}",
        f"  training vouchers claimed        {summary.vouchers}",
        f"  approvals                        {dict(summary.approvals)}",
        "  approved per scheme:",
    ]
    total = 0
    for scheme, (count, fen) in summary.by_scheme.items():
        lines.append(f"    {scheme:<22} {count:>5} claims  {yuan(fen):>16} yuan")
        total += fen
    lines.append(f"    {'total':<22} {'':>5}         {yuan(total):>16} yuan")
    if summary.batch:
        batch = summary.batch
        lines.append(
            f"  batch {batch['number']}: {batch['declared_count']} lines, "
            f"{yuan(batch['declared_total_fen'])} yuan, built by {batch['built_by']}, "
            f"approved by {batch['approved_by']}, now {batch['status']} "
            f"(bank return file: {batch['reconciled']['paid']} paid)"
        )
    lines += [f"  {f}" for f in summary.files]
    print("\n".join(lines))
