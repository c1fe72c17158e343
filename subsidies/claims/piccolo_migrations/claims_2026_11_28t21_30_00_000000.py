"""Fewer indexes on `claim`, so storing a calculation run (an UPDATE of every claim it
prices: status, amount, cap key, inputs, trace) writes fewer index entries. PostgreSQL
cannot update a claim in place when status changes (status is indexed), so each
updated row gets a new entry in EVERY index of the table whose predicate it meets;
SQLite rewrites the entries of the indexes naming a changed column (status, cap_key).

Given the queries on claims:
- claim_scheme (scheme) was a prefix of claim_scheme_status (scheme, status), and
  claim_status (status) answered what a status-first index answers: both go, and one
  index (status, scheme) serves status alone (batch selection, listings) and status
  with scheme (the runs' SUBMITTED claims of a scheme, simulations).
- claim_dedupe_key (dedupe_key): every lookup by dedupe key asks for live claims
  (status IN the live statuses, or NOT IN withdrawn/rejected), which PostgreSQL answers
  from the partial unique index claim_live_key; SQLite's planner only uses a partial
  index when the query repeats its WHERE term word for word, so SQLite keeps it (it
  costs SQLite nothing when a run stores results: dedupe_key does not change).
- claim_certificate, claim_payee_organisation: only rows that have one are indexed
  (skill-level claims have no payee organisation, internship claims no certificate);
  every lookup compares the column with a value, which implies IS NOT NULL on both
  engines, so both still use them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.db import engine, is_sqlite
from kernel.migration_sql import run_sql

ID = "2026-11-28T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "claim indexes: (status, scheme); partial foreign-key indexes; fewer to update"

FORWARDS = (
    "DROP INDEX claim_scheme",
    "DROP INDEX claim_status",
    "DROP INDEX claim_scheme_status",
    "CREATE INDEX claim_status_scheme ON claim (status, scheme)",
    "DROP INDEX claim_certificate",
    "CREATE INDEX claim_certificate ON claim (certificate) WHERE certificate IS NOT NULL",
    "DROP INDEX claim_payee_organisation",
    "CREATE INDEX claim_payee_organisation ON claim (payee_organisation) "
    "WHERE payee_organisation IS NOT NULL",
)
POSTGRES_ONLY = ("DROP INDEX claim_dedupe_key",)

BACKWARDS = (
    "DROP INDEX claim_status_scheme",
    "CREATE INDEX claim_scheme ON claim (scheme)",
    "CREATE INDEX claim_status ON claim (status)",
    "CREATE INDEX claim_scheme_status ON claim (scheme, status)",
    "DROP INDEX claim_certificate",
    "CREATE INDEX claim_certificate ON claim (certificate)",
    "DROP INDEX claim_payee_organisation",
    "CREATE INDEX claim_payee_organisation ON claim (payee_organisation)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="claims", description=DESCRIPTION)

    async def fewer_indexes():
        for sql in FORWARDS:
            await run_sql(sql)
        if not is_sqlite(engine()):
            for sql in POSTGRES_ONLY:
                await run_sql(sql)

    async def as_before():
        for sql in BACKWARDS:
            await run_sql(sql)
        if not is_sqlite(engine()):
            await run_sql("CREATE INDEX claim_dedupe_key ON claim (dedupe_key)")

    manager.add_raw(fewer_indexes)
    manager.add_raw_backwards(as_before)
    return manager
