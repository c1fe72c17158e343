"""Every operation of the OpenAPI document, walked with out-of-range, mistyped and
oversized values for each parameter, and every path with OPTIONS and HEAD, with and
without credentials: no answer is a 5xx or shows an internal message. Text values
include NUL, which PostgreSQL cannot store."""

import re
from urllib.parse import quote

from accounts.roles import StaffRole
from tests.conftest import bearer, staff_token

OUT_OF_RANGE = [str(2**64), "99999999999999999999", "-1", "0"]
WRONG_TYPE = ["abc", "1.5", "\x00", "a\x00b"]
# httpx refuses a URL part past 64 KiB; a real server's header limit is far lower.
OVERSIZED = "x" * 60_000
METHODS = ("get", "post", "put", "patch", "delete")


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _failure(response) -> str | None:
    if response.status_code >= 500 or "AuthMiddleware" in response.text:
        return f"{response.status_code} {response.text[:200]}"
    return None


async def test_no_parameter_value_makes_a_5xx(client):
    _, token = await staff_token(StaffRole.ADMIN)
    doc = (await client.get("/schema/openapi.json")).json()
    failures = []
    for path, method, operation in _operations(doc):
        for headers in ({}, bearer(token)):
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                for value in [*OUT_OF_RANGE, *WRONG_TYPE, OVERSIZED]:
                    if where == "path":
                        url = _fill(path.replace("{" + name + "}", quote(value, safe="")))
                        params = {}
                    elif where == "query":
                        url, params = _fill(path), {name: value}
                    else:
                        continue
                    r = await client.request(method, url, params=params, headers=headers)
                    if problem := _failure(r):
                        failures.append((method, path, name, value[:20], problem))
    assert not failures, failures


async def test_options_and_head_on_every_path_answer_without_a_5xx(client):
    _, token = await staff_token(StaffRole.ADMIN)
    doc = (await client.get("/schema/openapi.json")).json()
    failures = []
    for path in doc["paths"]:
        for headers in ({}, bearer(token)):
            for method in ("OPTIONS", "HEAD"):
                r = await client.request(method, _fill(path), headers=headers)
                if problem := _failure(r):
                    failures.append((method, path, bool(headers), problem))
    assert not failures, failures
    r = await client.get("/api/v1/reviews/ranking", headers=bearer(token))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "subject_type", r.text
    r = await client.options("/api/v1/claims")  # a controller with class-level guards
    assert r.status_code == 204 and "GET" in r.headers["allow"]


async def test_an_out_of_range_integer_is_400_naming_the_parameter(client):
    _, token = await staff_token(*StaffRole)  # past every staff guard
    doc = (await client.get("/schema/openapi.json")).json()
    checked = 0
    for path, method, operation in _operations(doc):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if "maximum" not in schema or parameter["in"] != "query":
                continue
            name = parameter["name"]
            required = {  # valid values for the others this operation requires
                p["name"]: "x"
                for p in operation["parameters"]
                if p["required"] and p["in"] == "query" and p["name"] != name
            }
            for value in (str(2**64), str(int(schema["maximum"]) + 1), "0"):
                params = {**required, name: value}
                r = await client.request(method, _fill(path), params=params, headers=bearer(token))
                if r.status_code == 403 and "organisation" in r.text:
                    continue  # an organisation-only route: its guard answers first
                assert r.status_code == 400, (method, path, name, value, r.text)
                assert name in {e["field"] for e in r.json()["errors"]}, r.text
                checked += 1
    assert checked >= 40  # claimant, host_organisation_id, person_id, budgets' year, ...


async def test_every_parameter_is_bounded_in_the_document(client):
    doc = (await client.get("/schema/openapi.json")).json()
    unbounded = []
    for path, method, operation in _operations(doc):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            types = {s.get("type") for s in schema.get("oneOf", [schema])} - {"null"}
            formats = {s.get("format") for s in schema.get("oneOf", [schema])}
            bounded = (
                ("maximum" in schema and {"minimum", "exclusiveMinimum"} & set(schema))
                if types == {"integer"}
                else "maxLength" in schema or "enum" in schema or formats & {"date"}
            )
            if not bounded:
                unbounded.append((method, path, parameter["name"], schema))
    assert not unbounded, unbounded
