"""Bad input gets a 4xx naming the field; lists page with cursors; ids in headers."""

import httpx

from accounts.roles import StaffRole
from app.factory import create_app
from registry.credit_codes import make_credit_code
from tests.conftest import bearer, staff_token, unique
from tests.support.asgi import serve

GOOD = {"name": "东莞市某企业", "org_type": "enterprise", "town": "虎门"}


async def officer(client: httpx.AsyncClient) -> dict[str, str]:
    _, token = await staff_token(StaffRole.OFFICER)
    return bearer(token)


async def test_unknown_missing_and_mistyped_fields_are_400_with_the_field(client):
    h = await officer(client)
    cases = {
        "extra": ({**GOOD, "credit_code": make_credit_code(1), "colour": "red"}, "colour"),
        "missing": ({"name": "x", "org_type": "enterprise", "town": "虎门"}, "credit_code"),
        "wrong type": ({**GOOD, "credit_code": 12345}, "credit_code"),
    }
    for label, (body, field) in cases.items():
        r = await client.post("/api/v1/organisations", json=body, headers=h)
        assert r.status_code == 400, label
        assert any(field in e["field"] or field in e["reason"] for e in r.json()["errors"]), r.text


async def test_malformed_json_is_400_about_the_body(client):
    r = await client.post(
        "/api/v1/organisations",
        content=b'{"name": ',
        headers={**await officer(client), "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "body"


async def test_domain_validation_is_400_with_every_field(client):
    r = await client.post(
        "/api/v1/organisations",
        headers=await officer(client),
        json={**GOOD, "credit_code": "914419000000000000", "town": "广州"},
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"credit_code", "town"}


async def test_a_duplicate_is_409_and_changes_nothing(client):
    h = await officer(client)
    body = {**GOOD, "name": unique("企业"), "credit_code": make_credit_code(int(unique("")))}
    assert (await client.post("/api/v1/organisations", json=body, headers=h)).status_code == 201
    r = await client.post("/api/v1/organisations", json=body, headers=h)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "credit_code"


async def test_an_oversized_body_is_413(db, settings):
    from dataclasses import replace

    app = create_app(replace(settings, max_body_bytes=1024), engine_bound=True, run_jobs=False)
    async with serve(app) as small:
        _, token = await staff_token(StaffRole.OFFICER)
        r = await small.post(
            "/api/v1/organisations",
            headers=bearer(token),
            content=b'{"name": "' + b"x" * 4096 + b'"}',
        )
        assert r.status_code == 413


async def test_every_response_carries_a_request_id_and_echoes_a_given_one(client):
    r = await client.get("/api/v1/health", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    r = await client.get("/api/v1/organisations")  # 401 from the auth layer
    assert r.headers["x-request-id"] and r.json()["request_id"] == r.headers["x-request-id"]
    r = await client.get("/api/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"


async def test_lists_page_with_cursors_without_gaps_or_repeats(client):
    h = await officer(client)
    for _ in range(5):
        body = {**GOOD, "name": unique("企业"), "credit_code": make_credit_code(int(unique("")))}
        assert (await client.post("/api/v1/organisations", json=body, headers=h)).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/organisations", params=params, headers=h)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 5 and seen == sorted(seen)
    for bad in ({"cursor": "garbage!"}, {"limit": 0}, {"limit": 10_000}, {"limit": "many"}):
        r = await client.get("/api/v1/organisations", params=bad, headers=h)
        assert r.status_code == 400, bad


async def test_openapi_docs_are_served(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200 and "/api/v1/organisations" in r.json()["paths"]


async def test_out_of_range_ids_and_cursors_are_400_not_500(client):
    h = await officer(client)
    big = "9" * 20
    for path in (f"/api/v1/organisations/{big}", f"/api/v1/jobs/{big}", "/api/v1/organisations/0"):
        r = await client.get(path, headers=h)
        assert r.status_code == 400, (path, r.text)
    from kernel.pagination import encode_cursor

    r = await client.get(
        "/api/v1/organisations", params={"cursor": encode_cursor(10**20)}, headers=h
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "cursor"


async def test_nul_characters_are_400_not_500(client):
    r = await client.post("/api/v1/auth/login", json={"username": "a\u0000b", "password": "x"})
    assert r.status_code == 400 and "control characters" in r.text
    assert r.json()["errors"][0]["field"] == "username", r.text
    r = await client.post(
        "/api/v1/organisations",
        headers=await officer(client),
        json={**GOOD, "name": "东莞\u0000", "credit_code": make_credit_code(2)},
    )
    assert r.status_code == 400


async def test_concurrent_duplicates_get_one_201_and_the_rest_409(client):
    import asyncio

    h = await officer(client)
    body = {**GOOD, "name": unique("企业"), "credit_code": make_credit_code(int(unique("")))}
    codes = await asyncio.gather(
        *(client.post("/api/v1/organisations", json=body, headers=h) for _ in range(8))
    )
    assert sorted(r.status_code for r in codes) == [201] + [409] * 7
