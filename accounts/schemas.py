from datetime import datetime
from typing import Annotated

import msgspec

from kernel.schemas import Input, Output

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LoginIn(Input):
    username: Username
    password: Password


class AddressIn(Input):
    address: Annotated[str, msgspec.Meta(min_length=2, max_length=45)]


class LoginOut(Output):
    token: str
    token_type: str
    expires_at: datetime


class MeOut(Output):
    kind: str
    id: int
    name: str
    roles: list[str]
    org_type: str | None


class StaffIn(Input):
    username: Username
    password: Password
    roles: list[str]
    display_name: Annotated[str, msgspec.Meta(max_length=100)] = ""


class StaffOut(Output):
    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool


class StaffPage(Output):
    items: list[StaffOut]
    next_cursor: str | None


class ApiKeyIn(Input):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ApiKeyOut(Output):
    id: int
    prefix: str
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedApiKeyOut(ApiKeyOut, frozen=True):
    key: str  # shown once
