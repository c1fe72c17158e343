"""A small demo data set, seeded once: one organisation of each type, one staff account
per role, one API key per organisation. Credentials are random, written once to
var/demo-credentials.txt (mode 600) and printed at every start."""

from __future__ import annotations

import secrets
from pathlib import Path

from accounts import api_keys, staff
from accounts.principal import SYSTEM, SYSTEM_ADMIN
from accounts.roles import OrgType, StaffRole
from accounts.tables import StaffUser
from kernel.db import unit_of_work
from registry import organisations
from registry.credit_codes import make_credit_code

DEMO_ORGS = (
    ("东莞市精工模具有限公司", OrgType.ENTERPRISE, "长安"),
    ("东莞市技能培训学院", OrgType.TRAINING_INSTITUTION, "南城"),
    ("东莞市职业技能评价中心", OrgType.EVALUATION_ORGANISATION, "东城"),
    ("东莞市技师学院", OrgType.TECHNICAL_SCHOOL, "松山湖"),
)


def credentials_file(data_dir: Path) -> Path:
    return data_dir / "demo-credentials.txt"


async def seed_demo(data_dir: Path) -> bool:
    """Returns False when the demo data is already there (nothing is added)."""
    async with unit_of_work():  # all or nothing: a crash mid-seed leaves no half set
        if await StaffUser.exists().where(StaffUser.username == "demo-admin").run():
            return False
        lines = await _seed()
    path = credentials_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return True


async def _seed() -> list[str]:
    lines = [
        "# Demo credentials (random, made at first seed). Staff log in at "
        "POST /api/v1/auth/login; organisations send their key as a Bearer token."
    ]
    for role in StaffRole:
        password = secrets.token_urlsafe(12)
        await staff.create_staff(
            SYSTEM.actor, f"demo-{role.value}", f"Demo {role.value}", [role.value], password
        )
        lines.append(f"staff  demo-{role.value:<9} password {password}")
    for serial, (name, org_type, town) in enumerate(DEMO_ORGS, start=1):
        org = await organisations.create(
            SYSTEM,
            organisations.NewOrganisation(
                name=name, org_type=org_type.value, credit_code=make_credit_code(serial), town=town
            ),
        )
        key = await api_keys.issue(SYSTEM_ADMIN, org["id"], "demo key")
        lines.append(f"org    {org_type.value:<24} id {org['id']}  api key {key['key']}")
    return lines
