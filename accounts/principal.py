"""The authenticated caller, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.roles import OrgType, StaffRole


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "staff" or "organisation"
    id: int  # staff user id, or organisation id
    name: str
    roles: frozenset[StaffRole] = frozenset()
    org_type: OrgType | None = None
    credential: str = ""  # session id or API key prefix, for the audit trail

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def organisation_id(self) -> int | None:
        return self.id if self.kind == "organisation" else None

    @property
    def actor(self) -> str:
        """Stable actor label for audit rows and job ownership."""
        if self.is_staff:
            return f"staff:{self.id}:{self.name}"
        return f"org:{self.id}:key:{self.credential}"

    def has_any(self, *roles: StaffRole) -> bool:
        return self.is_staff and bool(self.roles.intersection(roles))


SYSTEM = Principal(kind="system", id=0, name="system")
# The service itself acting as an admin (demo seeding), audited as staff:0:system.
SYSTEM_ADMIN = Principal(kind="staff", id=0, name="system", roles=frozenset({StaffRole.ADMIN}))
