"""People and organisation bank accounts through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import CHINA, local_today
from kernel.masking import mask_id_number
from registry import certificates, people
from registry.credit_codes import make_credit_code
from registry.resident_ids import compose
from registry.tables import Certificate, TrainingOutcome
from tests.conftest import ADMIN, bearer, make_org, org_key, staff_token, unique

# Region codes python-stdnum knows for every birth year used here.
KNOWN_REGIONS = ("440300", "110101", "440100", "310101")


def new_id(birth: date | None = None, region: str | None = None) -> str:
    """A fresh, valid ID number for this test session."""
    n = int(unique(""))
    if birth is None:
        birth = date(1970, 1, 1) + timedelta(days=n % 12000)
        n //= 12000
    region = region or KNOWN_REGIONS[(n // 1000) % len(KNOWN_REGIONS)]
    return compose(region, birth, n % 1000)


async def make_person(**facts: Any) -> dict[str, Any]:
    facts.setdefault("id_number", new_id(facts.pop("birth", None)))
    facts.setdefault("name", "张三")
    facts.setdefault("hukou", "non_local")
    return await people.create(ADMIN, people.NewPerson(**facts))


async def issue(person_id: int, issuer_id: int, level: int = 3, **extra: Any) -> dict[str, Any]:
    values = {
        "person_id": person_id,
        "occupation_code": "6-18-01-01",
        "occupation_name": "车工",
        "level": level,
        "number": unique("C"),
        "issued_on": date(2020, 5, 1),
        "issuer_id": issuer_id,
        **extra,
    }
    return await certificates.issue(ADMIN, certificates.NewCertificate(**values))


async def registered_on(certificate: dict[str, Any], day: date) -> None:
    """As if the certificate had been registered here at noon on `day` (Beijing): the API
    registers as of now, and eligibility on a date counts only what was registered by then."""
    noon = datetime.combine(day, time(12), CHINA)
    await (
        Certificate.update({Certificate.created_at: noon})
        .where(Certificate.id == certificate["id"])
        .run()
    )


async def link_by_outcome(institution_id: int, person_id: int) -> None:
    await TrainingOutcome.insert(
        TrainingOutcome(
            institution=institution_id,
            person=person_id,
            course=unique("course"),
            occupation_code="6-18-01-01",
            occupation_name="车工",
            hours=40,
            start_date=date(2024, 3, 1),
            end_date=date(2024, 3, 20),
            passed=True,
        )
    ).run()


_sessions: dict[tuple[str, tuple[StaffRole, ...]], dict[str, str]] = {}


def staff_headers(db: str) -> Callable[..., Awaitable[dict[str, str]]]:
    """Auth headers of a staff member holding `roles`: one account per roles and engine,
    since hashing a password for every call would make these tests slow."""

    async def headers(*roles: StaffRole) -> dict[str, str]:
        if (db, roles) not in _sessions:
            _, secret = await staff_token(*roles)
            _sessions[(db, roles)] = bearer(secret)
        return _sessions[(db, roles)]

    return headers


@pytest.fixture
def staff(db: str) -> Callable[..., Awaitable[dict[str, str]]]:
    return staff_headers(db)


async def audit_of(action: str, object_id: object) -> list[dict[str, Any]]:
    return (
        await AuditEntry.select()
        .where((AuditEntry.action == action) & (AuditEntry.object_id == str(object_id)))
        .order_by(AuditEntry.id)
        .run()
    )


def body(**extra: Any) -> dict[str, Any]:
    return {"id_number": new_id(), "name": "李四", "hukou": "non_local", **extra}


# -- creating ------------------------------------------------------------------------------


async def test_an_officer_registers_a_person_with_facts_derived_from_the_id(client, staff):
    h = await staff(StaffRole.OFFICER)
    number = new_id(date(1988, 8, 8))
    r = await client.post(
        "/api/v1/people",
        headers=h,
        json=body(
            id_number=number,
            phone="+86-769-12345678",
            town="虎门",
        ),
    )
    assert r.status_code == 201, r.text
    person = r.json()
    assert person["id_number"] == number and person["birth_date"] == "1988-08-08"
    assert person["sex"] == ("M" if int(number[16]) % 2 else "F")
    assert person["region_warning"] is None and person["insured_months"] is None
    [entry] = await audit_of("person.created", person["id"])
    assert number not in entry["after"] and mask_id_number(number) in entry["after"]
    assert entry["actor"].startswith("staff:")


async def test_an_id_ending_in_lower_case_x_is_stored_upper_case(client, staff):
    h = await staff(StaffRole.ADMIN)
    number = next(n for n in (new_id(date(1992, 2, 2)) for _ in range(200)) if n.endswith("X"))
    r = await client.post("/api/v1/people", headers=h, json=body(id_number=number.lower()))
    assert r.status_code == 201 and r.json()["id_number"] == number
    again = await client.post("/api/v1/people", headers=h, json=body(id_number=number))
    assert again.status_code == 409


async def test_one_person_per_id_a_duplicate_names_the_existing_person(client, staff):
    h = await staff(StaffRole.OFFICER)
    first = (await client.post("/api/v1/people", headers=h, json=body())).json()
    r = await client.post(
        "/api/v1/people", headers=h, json=body(id_number=f" {first['id_number']} ", name="另一个")
    )
    assert r.status_code == 409
    assert str(first["id"]) in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "id_number"


async def test_concurrent_registrations_of_one_id_create_one_person(client, staff):
    h = await staff(StaffRole.OFFICER)
    same = body()
    answers = await asyncio.gather(
        *(client.post("/api/v1/people", headers=h, json=same) for _ in range(6))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 5, [a.text for a in answers]
    created = next(a.json() for a in answers if a.status_code == 201)
    for a in answers:
        if a.status_code == 409:
            assert f"person {created['id']}" in a.json()["detail"]


async def test_every_bad_field_is_reported_at_once(client, staff):
    h = await staff(StaffRole.OFFICER)
    r = await client.post(
        "/api/v1/people",
        headers=h,
        json={
            "id_number": new_id()[:17] + "Y",
            "name": " ",
            "hukou": "somewhere",
            "phone": "call me",
            "town": "广州",
            "fresh_graduate": True,
            "graduate_year": local_today().year + 1,
        },
    )
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {
        "id_number",
        "name",
        "hukou",
        "phone",
        "town",
        "graduate_school",
        "graduate_year",
    }


async def test_id_numbers_with_impossible_or_future_dates_are_refused(client, staff):
    h = await staff(StaffRole.OFFICER)

    def with_check(body17: str) -> str:
        return body17 + ric.calc_check_digit(body17 + "0")

    future = compose("440300", local_today() + timedelta(days=2), 5)
    for number, reason in (
        (with_check("44030019900230123"), "birth date"),
        (with_check("44030019000229123"), "birth date"),
        (with_check("44030019901301123"), "birth date"),
        (future, "future"),
    ):
        r = await client.post("/api/v1/people", headers=h, json=body(id_number=number))
        assert r.status_code == 400, number
        [error] = r.json()["errors"]
        assert error["field"] == "id_number" and reason in error["reason"]


async def test_cross_field_rules(client, staff):
    h = await staff(StaffRole.OFFICER)
    # Insured months are recorded as dated periods (…/insured-periods), not as a figure.
    r = await client.post("/api/v1/people", headers=h, json=body(insured_months=12))
    assert r.status_code == 400 and "insured_months" in r.text
    r = await client.post(
        "/api/v1/people", headers=h, json=body(fresh_graduate=True, graduate_year=2025)
    )
    assert [e["field"] for e in r.json()["errors"]] == ["graduate_school"]
    r = await client.post(
        "/api/v1/people",
        headers=h,
        json=body(fresh_graduate=True, graduate_school="东莞市技师学院", graduate_year=2025),
    )
    assert r.status_code == 201 and r.json()["graduate_year"] == 2025


async def test_unknown_and_mistyped_fields_are_400(client, staff):
    h = await staff(StaffRole.OFFICER)
    for extra, field in (({"birth_date": "1990-01-01"}, "birth_date"), ({"hukou": 3}, "hukou")):
        r = await client.post("/api/v1/people", headers=h, json=body(**extra))
        assert r.status_code == 400
        assert any(field in e["field"] or field in e["reason"] for e in r.json()["errors"])


async def test_only_officers_and_admins_register_people(client, staff):
    for role in (StaffRole.REVIEWER, StaffRole.FINANCE, StaffRole.AUDITOR):
        r = await client.post("/api/v1/people", headers=await staff(role), json=body())
        assert r.status_code == 403, role
    _, key = await org_key("training_institution")
    assert (
        await client.post("/api/v1/people", headers=bearer(key), json=body())
    ).status_code == 403


# -- region warnings -------------------------------------------------------------------


async def test_an_unknown_region_is_kept_as_a_warning_for_an_officer_to_confirm(client, staff):
    officer = await staff(StaffRole.OFFICER)
    number = compose("990000", date(1990, 3, 7), int(unique("")) % 1000)
    r = await client.post("/api/v1/people", headers=officer, json=body(id_number=number))
    assert r.status_code == 201
    person = r.json()
    assert "990000" in person["region_warning"]
    masked = (
        await client.get(f"/api/v1/people/{person['id']}", headers=await staff(StaffRole.REVIEWER))
    ).json()
    assert masked["region_warning"] and "990000" not in masked["region_warning"]

    for role in (StaffRole.ADMIN, StaffRole.REVIEWER):
        url = f"/api/v1/people/{person['id']}/confirm-region"
        assert (await client.post(url, headers=await staff(role))).status_code == 403
    r = await client.post(f"/api/v1/people/{person['id']}/confirm-region", headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["region_warning"] is None and r.json()["region_confirmed_by"].startswith(
        "staff:"
    )
    [entry] = await audit_of("person.region_confirmed", person["id"])
    assert "990000" not in entry["before"] and number not in entry["before"]
    again = await client.post(f"/api/v1/people/{person['id']}/confirm-region", headers=officer)
    assert again.status_code == 409


# -- reading and visibility -------------------------------------------------------------


async def test_staff_see_people_with_the_id_masked_except_for_officers_and_admins(client, staff):
    person = await make_person()
    url = f"/api/v1/people/{person['id']}"
    for role, whole in (
        (StaffRole.OFFICER, True),
        (StaffRole.ADMIN, True),
        (StaffRole.REVIEWER, False),
        (StaffRole.FINANCE, False),
        (StaffRole.AUDITOR, False),
    ):
        r = await client.get(url, headers=await staff(role))
        assert r.status_code == 200
        expected = person["id_number"] if whole else mask_id_number(person["id_number"])
        assert r.json()["id_number"] == expected, role
    assert (
        await client.get("/api/v1/people/2147483000", headers=await staff(StaffRole.REVIEWER))
    ).status_code == 404


async def test_an_organisation_sees_only_people_it_is_linked_to(client):
    person = await make_person()
    url = f"/api/v1/people/{person['id']}"
    issuer, issuer_key = await org_key("evaluation_organisation")
    trainer, trainer_key = await org_key("training_institution")
    _, stranger_key = await org_key("enterprise")
    for key in (issuer_key, trainer_key, stranger_key):
        assert (await client.get(url, headers=bearer(key))).status_code == 404

    await issue(person["id"], issuer["id"])
    await link_by_outcome(trainer["id"], person["id"])
    for key in (issuer_key, trainer_key):
        r = await client.get(url, headers=bearer(key))
        assert r.status_code == 200
        assert r.json()["id_number"] == mask_id_number(person["id_number"])
    r = await client.get(url, headers=bearer(stranger_key))
    assert r.status_code == 404 and r.json()["detail"] == "person not found"
    denied = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    assert any(d["object_id"] == url for d in denied)


# -- changing ------------------------------------------------------------------------------


async def test_an_officer_changes_facts_and_the_change_is_audited_with_the_id_masked(client, staff):
    person = await make_person(phone="13800000000")
    h = await staff(StaffRole.OFFICER)
    url = f"/api/v1/people/{person['id']}"
    r = await client.patch(url, headers=h, json={"town": "虎门", "phone": None})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["town"] == "虎门" and changed["phone"] is None
    assert changed["name"] == person["name"]  # untouched
    [entry] = await audit_of("person.updated", person["id"])
    before, after = json.loads(entry["before"]), json.loads(entry["after"])
    assert before == {
        "id_number": mask_id_number(person["id_number"]),
        "town": None,
        "phone": "13800000000",
    }
    assert after["town"] == "虎门" and after["phone"] is None
    assert person["id_number"] not in entry["after"]

    # The same values again change nothing and write no audit entry.
    same = await client.patch(url, headers=h, json={"town": "虎门"})
    assert same.status_code == 200
    assert len(await audit_of("person.updated", person["id"])) == 1


async def test_a_change_is_checked_together_with_the_stored_record(client, staff):
    person = await make_person()
    h = await staff(StaffRole.ADMIN)
    url = f"/api/v1/people/{person['id']}"
    r = await client.patch(url, headers=h, json={"insured_months": 30})  # read only
    assert r.status_code == 400 and "insured_months" in r.text
    r = await client.patch(url, headers=h, json={"fresh_graduate": True, "graduate_year": 2024})
    assert [e["field"] for e in r.json()["errors"]] == ["graduate_school"]
    r = await client.patch(url, headers=h, json={"hukou": "unknown", "town": "广州"})
    assert {e["field"] for e in r.json()["errors"]} == {"hukou", "town"}
    for bad in ({}, {"id_number": new_id()}, {"name": None}, {"birth_date": "1990-01-01"}):
        r = await client.patch(url, headers=h, json=bad)
        assert r.status_code == 400, bad


async def test_only_officers_and_admins_change_people(client, staff):
    person = await make_person()
    url = f"/api/v1/people/{person['id']}"
    issuer, key = await org_key("enterprise")
    await issue(person["id"], issuer["id"])
    for headers in (await staff(StaffRole.REVIEWER), bearer(key)):
        assert (await client.patch(url, headers=headers, json={"name": "王五"})).status_code == 403
    missing = await client.patch(
        "/api/v1/people/2147483000", headers=await staff(StaffRole.OFFICER), json={"name": "王五"}
    )
    assert missing.status_code == 404


# -- organisation bank accounts ------------------------------------------------------------


ACCOUNT = {"bank_name": "中国工商银行东莞分行", "bank_account": "6222 0210 0112 3456 789"}


async def test_an_officer_records_a_bank_account_shown_whole_only_to_those_who_pay(client, staff):
    org, org_secret = await org_key("enterprise")
    url = f"/api/v1/organisations/{org['id']}"
    r = await client.put(
        f"{url}/bank-account",
        headers=await staff(StaffRole.OFFICER),
        json={**ACCOUNT, "bank_account_name": org["name"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["bank_account"] == "6222021001123456789"
    for headers, whole in (
        (await staff(StaffRole.FINANCE), True),
        (await staff(StaffRole.ADMIN), True),
        (bearer(org_secret), True),
        (await staff(StaffRole.REVIEWER), False),
        (await staff(StaffRole.AUDITOR), False),
    ):
        shown = (await client.get(url, headers=headers)).json()["bank_account"]
        assert shown == ("6222021001123456789" if whole else "*" * 15 + "6789")
        assert (await client.get("/api/v1/organisations", headers=headers)).status_code == 200
    page = (
        await client.get("/api/v1/organisations?limit=200", headers=await staff(StaffRole.AUDITOR))
    ).json()
    assert all(
        o["bank_account"] is None or o["bank_account"].startswith("****") for o in page["items"]
    )
    [entry] = await audit_of("organisation.bank_account_set", org["id"])
    assert "6222021001123456789" not in entry["after"] and "6789" in entry["after"]
    assert json.loads(entry["before"])["bank_account"] is None


async def test_bank_account_validation_and_roles(client, staff):
    org = await make_org()
    url = f"/api/v1/organisations/{org['id']}/bank-account"
    r = await client.put(
        url,
        headers=await staff(StaffRole.ADMIN),
        json={"bank_name": "x", "bank_account": "1234-5678", "bank_account_name": " "},
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {
        "bank_name",
        "bank_account",
        "bank_account_name",
    }
    short = {**ACCOUNT, "bank_account": "1234567", "bank_account_name": "某公司"}
    assert (
        await client.put(url, headers=await staff(StaffRole.ADMIN), json=short)
    ).status_code == 400
    good = {**ACCOUNT, "bank_account_name": "另一个名字也可以"}
    for headers in (await staff(StaffRole.FINANCE), bearer((await org_key())[1])):
        assert (await client.put(url, headers=headers, json=good)).status_code == 403
    own, own_key = await org_key()
    own_url = f"/api/v1/organisations/{own['id']}/bank-account"
    assert (await client.put(own_url, headers=bearer(own_key), json=good)).status_code == 403
    missing = "/api/v1/organisations/2147483000/bank-account"
    assert (
        await client.put(missing, headers=await staff(StaffRole.ADMIN), json=good)
    ).status_code == 404


async def test_a_bank_account_may_be_given_when_creating_an_organisation(client, staff):
    h = await staff(StaffRole.OFFICER)
    new = {
        "name": unique("东莞企业"),
        "org_type": "enterprise",
        "credit_code": make_credit_code(int(unique(""))),
        "town": "长安",
    }
    r = await client.post(
        "/api/v1/organisations",
        headers=h,
        json={**new, **ACCOUNT, "bank_account_name": new["name"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["bank_account"] == "6222021001123456789"
    partial = {**new, "credit_code": make_credit_code(int(unique(""))), "bank_name": "某银行"}
    r = await client.post("/api/v1/organisations", headers=h, json=partial)
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"bank_account", "bank_account_name"}
    bare = {**new, "credit_code": make_credit_code(int(unique("")))}
    r = await client.post("/api/v1/organisations", headers=h, json=bare)
    assert r.status_code == 201 and r.json()["bank_account"] is None
