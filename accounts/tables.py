from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation


class StaffUser(Table, tablename="staff_user"):
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    # Comma-separated role names (accounts.roles.StaffRole); few and fixed.
    roles = Varchar(length=200)
    password_hash = Varchar(length=200)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class StaffSession(Table, tablename="staff_session"):
    """A login token, stored as its SHA-256 only."""

    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=StaffUser, index=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class ApiKey(Table, tablename="api_key"):
    """An organisation's API key, stored as its SHA-256 only; the prefix identifies it."""

    organisation = ForeignKey(references=Organisation, index=True, on_delete=OnDelete.restrict)
    prefix = Varchar(length=16, unique=True)
    key_hash = Varchar(length=64, unique=True)
    label = Varchar(length=100)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class StaffAffiliation(Table, tablename="staff_affiliation"):
    """A staff member's tie to an organisation (employed by it, or otherwise linked):
    such a reviewer may not review that organisation's cases. (staff_user, organisation,
    relation) is unique (a migration adds it)."""

    staff_user = ForeignKey(references=StaffUser, index=True, on_delete=OnDelete.restrict)
    organisation = ForeignKey(references=Organisation, index=True, on_delete=OnDelete.restrict)
    relation = Varchar(length=16)  # employed / linked
    since = Date(null=True, default=None)
    note = Varchar(length=200, null=True, default=None)
    recorded_by = Varchar(length=120)
    recorded_at = Timestamptz(default=TimestamptzNow())


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed logins of one key within a window (accounts.throttle_rules): an account
    name, whether or not it exists (`account:<name>`), or a client address
    (`address:<ip>`, an IPv6 client's `address:<prefix>::/64`). In the database, so
    every API process sees the same counts."""

    key = Varchar(length=80, unique=True)
    failures = Integer(default=0)
    window_start = Timestamptz()
    blocked_until = Timestamptz(null=True, default=None)
    # When the row stops meaning anything: stale rows are deleted by later failures.
    expires_at = Timestamptz(index=True)
