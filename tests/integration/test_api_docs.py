"""The docs page works without the internet, and the OpenAPI document says how to sign
in, what each operation does and which errors it can answer."""

import re

from accounts.roles import StaffRole
from app.api_docs import SUMMARY_MAX
from tests.conftest import bearer, staff_token


async def test_the_docs_page_loads_its_scripts_and_styles_from_the_service(client):
    for page in ("/schema", "/schema/swagger"):
        r = await client.get(page)
        assert r.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", r.text)
        assert len(urls) >= 3 and all(u.startswith("/schema/assets/") for u in urls), urls
        for url in urls:
            asset = await client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 500, url
    script = await client.get("/schema/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"] and b"SwaggerUIBundle" in script.content


async def test_the_document_declares_how_to_sign_in_and_the_errors_of_each_operation(client):
    doc = (await client.get("/schema/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    paths = doc["paths"]

    def answers(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    guarded = paths["/api/v1/claims/{claim_id}"]["get"]
    assert guarded["security"] and {"400", "401", "403", "404"} <= answers(
        "/api/v1/claims/{claim_id}", "get"
    )
    error = guarded["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorOut")
    assert {"409", "413"} <= answers("/api/v1/claims/{claim_id}/approve", "post")
    assert {"413", "415"} <= answers("/api/v1/outcome-reports", "post")
    assert "429" in answers("/api/v1/auth/login", "post")
    assert "409" in answers("/api/v1/calendar/working-days", "get")  # a year not entered
    assert "security" not in paths["/api/v1/auth/login"]["post"]  # public
    assert "security" not in paths["/verify/{code}"]["get"]


async def test_every_operation_says_what_it_does_in_a_sentence(client):
    """A description (the handler's docstring) and a summary phrase taken from it, not
    the handler's name run together ("ListKeys"). The failure lists every operation
    lacking them."""
    doc = (await client.get("/schema/openapi.json")).json()
    lacking = []
    count = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            count += 1
            summary = operation.get("summary", "")
            description = " ".join(operation.get("description", "").split())
            readable = (
                " " in summary
                and len(summary) <= SUMMARY_MAX
                and not summary.endswith(".")
                and summary.count("(") == summary.count(")")
                and description.startswith(summary.rstrip("…"))
            )
            if not description or not readable:
                lacking.append(f"{method.upper()} {path}: {summary!r}")
    assert count > 140
    assert not lacking, "\n".join(lacking)
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["summary"] == "Signs a staff member in and returns a bearer login token (st_…)"
    assert "429 with Retry-After" in " ".join(login["description"].split())


async def test_verify_answers_match_their_schema(client):
    doc = (await client.get("/schema/openapi.json")).json()
    verify = doc["paths"]["/verify/{code}"]
    for method, schema in (("get", "VerificationOut"), ("post", "FileCheckOut")):
        content = verify[method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert content == {"$ref": f"#/components/schemas/{schema}"}
    required = doc["components"]["schemas"]["FileCheckOut"]["required"]
    assert set(required) == {"genuine", "code"}
    r = await client.post("/verify/0000-0000-0000-0000", content=b"%PDF-1.4 not ours")
    assert r.status_code == 200 and r.json()["genuine"] is False
    assert r.json()["code_found"] is False


async def test_a_framework_error_never_shows_its_internal_message(client):
    _, token = await staff_token(StaffRole.ADMIN)
    for headers in ({}, bearer(token)):
        r = await client.options("/api/v1/statistics/skills", headers=headers)
        assert r.status_code == 204 and "AuthMiddleware" not in r.text
