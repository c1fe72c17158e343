"""Who signed, as a document prints it: an actor label (`staff:4:demo-finance-a`) read
back as the staff member's name and roles (`财务甲（财务人员）`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from accounts.tables import StaffUser
from kernel.labels import STAFF_ROLE, label

_STAFF_LABEL = re.compile(r"staff:(\d+):(.+)")


def staff_id(actor: str) -> int | None:
    """The staff id an actor label names, or None for any other actor."""
    match = _STAFF_LABEL.fullmatch(actor)
    return int(match.group(1)) if match else None


def signed_as(actor: str, staff: Mapping[int, Mapping[str, Any]]) -> str:
    """`staff` maps ids to rows (username, display_name, roles). A label whose id and
    username match no row stays as written."""
    match = _STAFF_LABEL.fullmatch(actor)
    row = staff.get(int(match.group(1))) if match else None
    if row is None or row["username"] != match.group(2):  # type: ignore[union-attr]
        return actor
    roles = "、".join(label(STAFF_ROLE, r) for r in sorted(row["roles"].split(",")) if r)
    return f"{row['display_name']}（{roles}）" if roles else row["display_name"]


async def signers(actors: Iterable[str | None]) -> dict[str, str]:
    """Each given actor label -> how it is signed."""
    wanted = [a for a in actors if a]
    ids = sorted({i for a in wanted if (i := staff_id(a)) is not None})
    rows = (
        await StaffUser.select(
            StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.roles
        )
        .where(StaffUser.id.is_in(ids))
        .run()
        if ids
        else []
    )
    staff = {r["id"]: r for r in rows}
    return {a: signed_as(a, staff) for a in wanted}
