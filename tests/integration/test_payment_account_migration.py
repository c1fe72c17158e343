"""The payment-account migrations (registry: bank codes, account kind, the change
awaiting confirmation, employers' proposals; batches: a line's bank code, a batch's
selection): existing rows get none, and backwards drops the columns and table again."""

from __future__ import annotations

import pytest
from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.querystring import QueryString

from app.migrate import migrate
from kernel.db import bind_engine, engine, make_engine
from tests.support import databases

MIGRATIONS = {"batches": "2026-12-08T04:00:01:000000", "registry": "2026-12-08T04:00:00:000000"}
PERSON_COLUMNS = {
    "bank_code", "bank_account_kind", "bank_account_set_by", "bank_account_set_at",
    "bank_account_unconfirmed_by",
}  # fmt: skip


async def sql(text: str, *args: object) -> list[dict]:
    return [dict(r) for r in await engine().run_querystring(QueryString(text, *args))]


async def backwards() -> None:
    for app, migration in MIGRATIONS.items():  # batches first: it depends on registry
        result = await run_backwards(app_name=app, migration_id=migration, auto_agree=True)
        assert result.success, result.message


async def test_existing_rows_get_no_payment_details_and_backwards_drops_them(database_url, tmp_dir):
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    url = await databases.fresh_database(kind, tmp_dir)
    try:
        await backwards()
        await sql(
            "INSERT INTO person (id_number, name, birth_date, sex, hukou, fresh_graduate, "
            "bank_name, bank_account, created_by, created_at, updated_at) VALUES "
            "('441900199001011234', '张三', '1990-01-01', 'M', 'local', false, '中国银行', "
            "'6216610000012345678', 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        await sql(
            "INSERT INTO organisation (name, org_type, credit_code, town, created_at) "
            "VALUES ('某公司', 'enterprise', '91441900MA4W000000', '长安', CURRENT_TIMESTAMP)"
        )
        for app in ("registry", "batches"):
            result = await run_forwards(app_name=app, migration_id="all", fake=False)
            assert result.success, result.message
        [person] = await sql("SELECT * FROM person")
        assert {c: person[c] for c in PERSON_COLUMNS} == dict.fromkeys(PERSON_COLUMNS)
        assert person["bank_account"] == "6216610000012345678"
        [org] = await sql("SELECT * FROM organisation")
        assert org["bank_code"] is None
        assert await sql("SELECT payee_bank_code FROM batch_line") == []
        assert await sql("SELECT selection FROM disbursement_batch") == []
        assert await sql("SELECT * FROM payment_account_proposal") == []

        await backwards()
        [person] = await sql("SELECT * FROM person")
        assert not PERSON_COLUMNS & set(person) and person["name"] == "张三"
        [org] = await sql("SELECT * FROM organisation")
        assert "bank_code" not in org
        for column, table in (
            ("payee_bank_code", "batch_line"),
            ("selection", "disbursement_batch"),
        ):
            with pytest.raises(Exception, match=column):
                await sql(f"SELECT {column} FROM {table}")
    finally:
        if kind == "postgresql":
            await databases.drop_pg_database(url)
        bind_engine(make_engine(database_url))
        await migrate()
