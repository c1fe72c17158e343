from enum import StrEnum


class StaffRole(StrEnum):
    REVIEWER = "reviewer"
    OFFICER = "officer"
    FINANCE = "finance"
    AUDITOR = "auditor"
    ADMIN = "admin"


class OrgType(StrEnum):
    ENTERPRISE = "enterprise"
    TRAINING_INSTITUTION = "training_institution"
    EVALUATION_ORGANISATION = "evaluation_organisation"
    TECHNICAL_SCHOOL = "technical_school"
    VOCATIONAL_SCHOOL = "vocational_school"


def parse_roles(text: str) -> frozenset[StaffRole]:
    return frozenset(StaffRole(r) for r in text.split(",") if r)


def format_roles(roles: frozenset[StaffRole] | set[StaffRole]) -> str:
    return ",".join(sorted(r.value for r in roles))
