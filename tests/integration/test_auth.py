"""Who may do what, through the API, on SQLite and PostgreSQL."""

from accounts.roles import StaffRole
from accounts.tables import ApiKey
from audit.tables import AuditEntry
from tests.conftest import bearer, make_staff, org_key, staff_token


async def denials_for(actor_fragment: str) -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == "permission.denied").run()
    return [r for r in rows if actor_fragment in r["actor"]]


async def test_staff_log_in_and_use_the_token(client):
    user = await make_staff(StaffRole.OFFICER)
    r = await client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": user["password"]}
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["roles"] == ["officer"] and me.json()["kind"] == "staff"


async def test_a_wrong_password_or_unknown_user_gets_401_and_is_audited(client):
    user = await make_staff(StaffRole.OFFICER)
    for username in (user["username"], "nobody-here"):
        r = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": "wrong password!"}
        )
        assert r.status_code == 401
    failed = await AuditEntry.select().where(AuditEntry.action == "staff.login_failed").run()
    assert {user["username"], "nobody-here"} <= {row["object_id"] for row in failed}


async def test_logout_revokes_the_token(client):
    _, token = await staff_token(StaffRole.REVIEWER)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


async def test_an_expired_token_is_refused(client):
    from accounts import staff as staff_service

    user = await make_staff(StaffRole.REVIEWER)
    token, _ = await staff_service.login(user["username"], user["password"], ttl_minutes=0)
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


async def test_a_deactivated_account_loses_its_sessions(client):
    _, admin = await staff_token(StaffRole.ADMIN)
    user, token = await staff_token(StaffRole.FINANCE)
    r = await client.post(f"/api/v1/staff/{user['id']}/deactivate", headers=bearer(admin))
    assert r.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


async def test_missing_or_garbage_credentials_get_401(client):
    assert (await client.get("/api/v1/organisations")).status_code == 401
    for secret in ("st_nope", "sk_nope_nope", "something-else"):
        r = await client.get("/api/v1/organisations", headers=bearer(secret))
        assert r.status_code == 401
        assert r.json()["errors"] == [] and "Traceback" not in r.text


async def test_api_keys_are_shown_once_stored_hashed_and_revocable(client):
    org, first_key = await org_key()
    # The organisation issues itself a second key: several per organisation.
    r = await client.post(
        f"/api/v1/organisations/{org['id']}/api-keys",
        json={"label": "second"},
        headers=bearer(first_key),
    )
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["key"].startswith("sk_")
    listed = (
        await client.get(f"/api/v1/organisations/{org['id']}/api-keys", headers=bearer(first_key))
    ).json()
    assert len(listed) == 2 and all("key" not in k for k in listed)
    stored = await ApiKey.select(ApiKey.key_hash).where(ApiKey.organisation == org["id"]).run()
    assert all(second["key"] not in row["key_hash"] for row in stored)
    # Both keys work, also through X-API-Key.
    assert (
        await client.get("/api/v1/auth/me", headers={"X-API-Key": second["key"]})
    ).status_code == 200
    r = await client.delete(
        f"/api/v1/organisations/{org['id']}/api-keys/{second['id']}", headers=bearer(first_key)
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(second["key"]))).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(first_key))).status_code == 200


async def test_another_organisations_records_answer_404_and_the_attempt_is_audited(client):
    org_a, key_a = await org_key()
    org_b, _ = await org_key("training_institution")
    for path in (
        f"/api/v1/organisations/{org_b['id']}",
        f"/api/v1/organisations/{org_b['id']}/api-keys",
    ):
        r = await client.get(path, headers=bearer(key_a))
        assert r.status_code == 404, path
    r = await client.post(
        f"/api/v1/organisations/{org_b['id']}/api-keys",
        json={"label": "sneaky"},
        headers=bearer(key_a),
    )
    assert r.status_code == 404
    own = await client.get(f"/api/v1/organisations/{org_a['id']}", headers=bearer(key_a))
    assert own.status_code == 200
    listed = (await client.get("/api/v1/organisations", headers=bearer(key_a))).json()["items"]
    assert [o["id"] for o in listed] == [org_a["id"]]
    assert len(await denials_for(f"org:{org_a['id']}:")) == 3


async def test_a_wrong_role_gets_403_and_the_attempt_is_audited(client):
    reviewer, token = await staff_token(StaffRole.REVIEWER)
    r = await client.get("/api/v1/audit", headers=bearer(token))
    assert r.status_code == 403 and "auditor" in r.json()["detail"]
    r = await client.post(
        "/api/v1/staff",
        headers=bearer(token),
        json={"username": "x-user", "password": "long enough pw", "roles": ["admin"]},
    )
    assert r.status_code == 403
    _, key = await org_key()
    assert (await client.get("/api/v1/staff", headers=bearer(key))).status_code == 403
    assert len(await denials_for(f"staff:{reviewer['id']}:")) == 2


async def test_admin_creates_staff_with_roles_and_a_hashed_password(client):
    from accounts.tables import StaffUser

    _, admin = await staff_token(StaffRole.ADMIN)
    r = await client.post(
        "/api/v1/staff",
        headers=bearer(admin),
        json={"username": "finance.wang", "password": "a long password", "roles": ["finance"]},
    )
    if r.status_code == 409:  # the same database serves both engines' runs only once
        return
    assert r.status_code == 201, r.text
    row = (
        await StaffUser.select(StaffUser.password_hash)
        .where(StaffUser.username == "finance.wang")
        .first()
        .run()
    )
    assert row["password_hash"].startswith("$argon2id$")
    r = await client.post(
        "/api/v1/staff",
        headers=bearer(admin),
        json={"username": "finance.wang", "password": "a long password", "roles": ["finance"]},
    )
    assert r.status_code == 409
    r = await client.post(
        "/api/v1/staff",
        headers=bearer(admin),
        json={"username": "Bad Name", "password": "short", "roles": ["boss"]},
    )
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"username", "password", "roles"}


async def test_a_probe_with_an_overlong_path_is_still_audited(client):
    org_a, key_a = await org_key()
    org_b, _ = await org_key()
    path = f"/api/v1/organisations/{'0' * 80}{org_b['id']}"
    r = await client.get(path, headers=bearer(key_a))
    assert r.status_code == 404
    assert len(await denials_for(f"org:{org_a['id']}:")) == 1


async def test_a_long_username_can_issue_keys(client):
    from accounts import staff as staff_service

    name = "a" * 64
    if (
        not await staff_service.StaffUser.exists()
        .where(staff_service.StaffUser.username == name)
        .run()
    ):
        await staff_service.create_staff("t", name, "long", ["admin"], "a long password!")
    token, _ = await staff_service.login(name, "a long password!", ttl_minutes=5)
    org, _ = await org_key()
    r = await client.post(
        f"/api/v1/organisations/{org['id']}/api-keys", json={"label": "x"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
