"""Control characters in what a client sends, on SQLite and PostgreSQL (which cannot
store NUL): a text parameter holding one is 400 naming it; a JSON string holding NUL
or another control character (tab and line breaks aside) is 400 naming its field; an
uploaded file's name is stored without NUL and is bounded in length."""

from __future__ import annotations

from urllib.parse import quote

from accounts.roles import StaffRole
from registry.tables import OutcomeReport
from subsidies.claim_files.tables import ClaimFile
from subsidies.internships.tables import MonthFile
from tests.conftest import bearer, org_key, staff_token, unique
from tests.integration.test_calculation_runs import document
from tests.integration.test_claims import TEST_SCHEME
from tests.integration.test_hostile_files import ROUTES
from tests.support import hostile_files as hostile

FIELD_REASON = "must not contain control characters"

# The reviewer's cases: each answered 500 on PostgreSQL.
QUERIES = [
    ("/api/v1/reviews/cases", "subject_type"),
    ("/api/v1/reviews/ranking", "subject_type"),
    ("/api/v1/appraisals/objections", "status"),
    ("/api/v1/internships", "programme"),
    ("/api/v1/claims", "scheme"),
    ("/api/v1/claim-files", "scheme"),
    ("/api/v1/budgets", "scheme"),
    ("/api/v1/studios", "town"),
    ("/api/v1/outcomes", "person"),
    ("/verify", "code"),
]
PATHS = [
    ("/api/v1/vouchers/{}", "number"),
    ("/api/v1/budgets/{}/2026", "scheme"),
    ("/verify/{}", "code"),
]


def _names_the_field(response, field: str) -> None:
    assert response.status_code == 400, response.text
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert field in errors and FIELD_REASON in errors[field], response.text


async def test_a_control_character_in_a_query_or_path_parameter_is_400_naming_it(client):
    _, token = await staff_token(StaffRole.ADMIN)
    for value in ("a\x00", "a\x00b", "\x1b[2J", "a\n"):
        for url, name in QUERIES:
            r = await client.get(url, params={name: value}, headers=bearer(token))
            _names_the_field(r, name)
        for url, name in PATHS:
            r = await client.get(url.format(quote(value, safe="")), headers=bearer(token))
            _names_the_field(r, name)
    # Ordinary text still passes.
    r = await client.get("/api/v1/claims", params={"scheme": "技能 level"}, headers=bearer(token))
    assert r.status_code == 200, r.text


async def test_a_control_character_in_a_json_string_is_400_naming_the_field(client):
    _, token = await staff_token(StaffRole.OFFICER)
    for name in ("东莞\x00企业", "东莞\x07企业"):
        body = {"name": name, "org_type": "enterprise", "town": "虎门", "credit_code": "x"}
        r = await client.post("/api/v1/organisations", json=body, headers=bearer(token))
        _names_the_field(r, "name")
    _, key = await org_key("enterprise")
    nested = [
        ({"thing": "a\x00b"}, "details.thing"),
        ({"thing": unique("t"), "notes": ["ok", "x\x00"]}, "details.notes[1]"),
        ({"thing": unique("t"), "k\x00": 1}, "details"),
    ]
    for details, field in nested:
        body = {"scheme": TEST_SCHEME, "basis_date": "2026-03-01", "details": details}
        r = await client.post("/api/v1/claims", json=body, headers=bearer(key))
        _names_the_field(r, field)
    _, token = await staff_token(StaffRole.ADMIN)
    url = "/api/v1/policies/skill_level/versions"
    body = document(effective_from="2041-01-01", title_en="skills\x00")
    _names_the_field(await client.post(url, json=body, headers=bearer(token)), "document.title_en")
    # Free text keeps its tabs and line breaks.
    thing = unique("line one\n\tline two\r\n")
    body = {"scheme": TEST_SCHEME, "basis_date": "2026-03-01", "details": {"thing": thing}}
    r = await client.post("/api/v1/claims", json=body, headers=bearer(key))
    assert r.status_code == 201, r.text


async def _upload(client, route: str, filename: str):
    url, org_type, headers, data = ROUTES[route]
    org, key = await org_key(org_type)
    scheme = {"scheme": "skill_level"} if route == "claims" else {}
    body = hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data])))
    response = await client.post(
        url,
        params={"filename": filename, **scheme},
        content=body,
        headers={**bearer(key), "Content-Type": "application/octet-stream"},
    )
    return org, response


async def _stored_name(route: str, org_id: int) -> str:
    table, owner = {
        "outcomes": (OutcomeReport, OutcomeReport.institution),
        "claims": (ClaimFile, ClaimFile.claimant),
        "months": (MonthFile, MonthFile.host),
    }[route]
    rows = await table.select(table.filename).where(owner == org_id).run()
    assert len(rows) == 1, rows
    return rows[0]["filename"]


async def test_an_upload_named_with_nul_is_stored_without_it(client):
    for route in ROUTES:
        org, r = await _upload(client, route, "a\x00b\u202e\x07.xlsx")
        assert r.status_code in (201, 202), (route, r.text)
        assert r.json()["filename"] == "ab.xlsx", r.text  # shown without any control
        assert await _stored_name(route, org["id"]) == "ab\u202e\x07.xlsx"  # as sent, but NUL


async def test_an_upload_file_name_is_bounded_and_documented(client):
    doc = (await client.get("/schema/openapi.json")).json()
    for route, (url, *_) in ROUTES.items():
        parameters = {p["name"]: p for p in doc["paths"][url]["post"]["parameters"]}
        assert parameters["filename"]["schema"]["maxLength"] == 255, route
        _, r = await _upload(client, route, "x" * 252 + ".xlsx")
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == "filename", r.text
        _, r = await _upload(client, route, "x" * 250 + ".xlsx")
        assert r.status_code in (201, 202), r.text
