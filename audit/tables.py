from piccolo.columns import Integer, Text, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    """One audit row. It is written unsealed (seq, prev_hash and hash empty) in the
    transaction of the change it records, and sealed into the hash chain shortly
    after commit by audit.sealer. Every hashed field is stored as the exact text that
    was hashed, so verification never depends on how a driver formats values."""

    seq = Integer(null=True, default=None, unique=True)
    at = Varchar(length=40)
    actor = Varchar(length=120)
    action = Varchar(length=80, index=True)
    object_type = Varchar(length=40)
    object_id = Varchar(length=64)
    before = Text(null=True, default=None)
    after = Text(null=True, default=None)
    request_id = Varchar(length=64)
    prev_hash = Varchar(length=64, null=True, default=None)
    hash = Varchar(length=64, null=True, default=None)
