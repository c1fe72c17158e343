from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from registry.tables import Organisation


class Document(Table, tablename="document"):
    """A rendered PDF: what it is about, where its bytes are, and how to verify it.

    (kind, subject) is unique (index in a migration): rendering a document again, by a
    retried or duplicated job, stores nothing twice. `code` is the verification code
    printed on it; `sha256` the hash of the exact bytes stored at `storage_path`
    (relative to DATA_DIR, derived from the hash). `summary` is what the public verify
    page may show: masked, JSON."""

    kind = Varchar(length=32)  # certificates.kinds
    subject = Varchar(length=64)  # "batch_line:12", "batch:3", "voucher:7", ...
    code = Varchar(length=19, unique=True)
    sha256 = Varchar(length=64, index=True)
    size_bytes = Integer()
    storage_path = Varchar(length=200)
    summary = Text(default="{}")
    batch_id = Integer(null=True, default=None, index=True)  # batch documents
    # An organisation that may download it besides the staff roles (a payee's notice).
    organisation = ForeignKey(
        references=Organisation, on_delete=OnDelete.restrict, null=True, default=None
    )
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
