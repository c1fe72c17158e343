from piccolo.columns import Integer, Text, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    """One link of the chain. Every hashed field is stored as the exact text that was
    hashed (timestamps and JSON included), so verification never depends on how a
    driver formats values on the way back."""

    seq = Integer(unique=True)
    at = Varchar(length=40)
    actor = Varchar(length=80)
    action = Varchar(length=80, index=True)
    object_type = Varchar(length=40)
    object_id = Varchar(length=64)
    before = Text(null=True, default=None)
    after = Text(null=True, default=None)
    request_id = Varchar(length=64)
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
