"""Who sees whole resident ID numbers, and which people an organisation may see."""

from __future__ import annotations

from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.masking import mask_id_number

# Officers decide on people and admins correct records: they need the whole number.
# Everyone else (reviewers, finance, auditors, organisations) sees it masked.
FULL_ID_ROLES = (StaffRole.OFFICER, StaffRole.ADMIN)


def sees_full_id(who: Principal) -> bool:
    return who.has_any(*FULL_ID_ROLES)


def shown_id(who: Principal, id_number: str) -> str:
    return id_number if sees_full_id(who) else mask_id_number(id_number)
