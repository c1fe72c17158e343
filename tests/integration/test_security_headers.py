"""Security headers on every response; a strict CSP on HTML pages; no-store on
personal data; HSTS behind an https public address."""

from __future__ import annotations

import os
import re

from accounts.roles import StaffRole
from app.factory import create_app
from app.in_process import serve
from app.settings import Settings
from kernel.security_headers import inline_hashes
from tests.conftest import bearer, make_staff, staff_token

CODE = "7KQ2M9DX4HT0VB3N"
HTML = {"Accept": "text/html"}


def directives(policy: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in policy.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def assert_basic_headers(response) -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff", response.url
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert directives(h["content-security-policy"])["frame-ancestors"] == ["'none'"]
    assert "strict-transport-security" not in h  # PUBLIC_BASE_URL is not https here


async def test_every_kind_of_answer_carries_the_headers(client):
    _, token = await staff_token(StaffRole.REVIEWER)
    answers = [
        await client.get("/api/v1/health"),
        await client.get("/no/such/page"),
        await client.get("/api/v1/organisations"),  # 401
        await client.get("/api/v1/audit", headers=bearer(token)),  # 403
        await client.post("/api/v1/auth/login", content=b"{not json"),  # 400
        await client.get("/schema/openapi.json"),
        await client.get("/schema/swagger"),
        await client.get("/verify/"),
        await client.get(f"/verify/{CODE}", headers=HTML),
        await client.get(f"/verify/{CODE}"),
    ]
    assert [r.status_code for r in answers] == [200, 404, 401, 403, 400, 200, 200, 200, 200, 200]
    for response in answers:
        assert_basic_headers(response)


async def test_public_pages_allow_only_their_own_scripts_and_styles(client):
    for response in (
        await client.get("/verify/"),
        await client.get(f"/verify/{CODE}", headers=HTML),
    ):
        assert response.headers["content-type"].startswith("text/html")
        policy = directives(response.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        # The page's one inline stylesheet is allowed by its hash; nothing else inline.
        assert policy["style-src"] == ["'self'", *inline_hashes(response.text, "style")]
        assert len(policy["style-src"]) == 2
        assert "<script" not in response.text and " style=" not in response.text


async def test_the_docs_page_allows_exactly_its_inline_script_and_its_assets(client):
    response = await client.get("/schema/swagger")
    policy = directives(response.headers["content-security-policy"])
    inline = inline_hashes(response.text, "script")
    assert inline and set(inline) <= set(policy["script-src"])
    for src in re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", response.text):
        origin = re.match(r"https?://[^/]+", src)
        assert origin is None or origin.group(0) in policy["script-src"], src
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


async def test_personal_data_and_tokens_are_never_cached(client):
    user = await make_staff(StaffRole.OFFICER)
    login = await client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": user["password"]}
    )
    me = await client.get("/api/v1/auth/me", headers=bearer(login.json()["token"]))
    refused = await client.get("/api/v1/organisations")
    page = await client.get(f"/verify/{CODE}", headers=HTML)
    for response in (login, me, refused, page):
        assert response.headers["cache-control"] == "no-store", response.url
    assert "no-store" not in (await client.get("/api/v1/health")).headers.get("cache-control", "")


async def test_an_https_public_address_turns_on_hsts(db):
    settings = Settings.from_env(
        {**os.environ, "DATABASE_URL": db, "PUBLIC_BASE_URL": "https://rsj.example.cn/skills"}
    )
    async with serve(create_app(settings, engine_bound=True)) as http:
        for response in (await http.get("/api/v1/health"), await http.get("/nowhere")):
            hsts = response.headers["strict-transport-security"]
            assert hsts == "max-age=31536000; includeSubDomains"
