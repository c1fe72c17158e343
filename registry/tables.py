from piccolo.columns import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Organisation(Table, tablename="organisation"):
    """An enterprise, training institution, skill-evaluation organisation or school."""

    name = Varchar(length=200)
    org_type = Varchar(length=32, index=True)
    credit_code = Varchar(length=18, unique=True)
    town = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
