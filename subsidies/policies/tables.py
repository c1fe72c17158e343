from piccolo.columns import Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class PolicyVersion(Table, tablename="policy_version"):
    """One version of one scheme's policy document; (scheme, version) is unique (index in
    a migration). Once `used_at` is set, a calculation relied on it: it never changes."""

    scheme = Varchar(length=40, index=True)
    version = Integer()
    effective_from = Date()
    effective_to = Date(null=True, default=None)
    document = Text()  # canonical JSON of the validated document
    origin = Varchar(length=16)  # file (a default in the repository) / api (an officer)
    origin_file = Varchar(length=100, null=True, default=None)
    created_by = Varchar(length=120)
    created_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)
