"""Foreign keys checked once per statement on PostgreSQL, for tables filled in bulk.

PostgreSQL checks a declared foreign key row by row: a query and a row lock on the
parent for every inserted row. For the outcome import that was most of the insert:
1M training outcomes with their four keys took 48.7 s on a slow VM against 17.7 s with
none (bench/import_outcomes.py). These SQL statements replace such keys with triggers
that check a whole statement's rows at once, by joining its transition table with the
parent (one anti-join per column), and keep what the key promised:

- Child side: after an INSERT or UPDATE (transition tables cannot go with a column
  list, so every UPDATE; its rows are few or already being written), a value not
  present in the parent fails the statement with SQLSTATE 23503
  (foreign_key_violation) and a message naming the table, column and value, as the
  declared key did.
- Parent side: DELETE, or an UPDATE that changes an `id`, that leaves a referenced id
  without its row fails the same way; TRUNCATE of a parent fails while its child has
  rows.
- Races: the parent-side check first takes SHARE on the child, which waits for every
  transaction that has written to the child and blocks new writers until it ends, then
  looks with a fresh snapshot. A child row written concurrently is therefore either
  seen by the parent's check, or written after the parent's change committed and
  refused by its own check. That needs READ COMMITTED (the application's level, never
  changed): at REPEATABLE READ or SERIALIZABLE a check would see only its snapshot, so
  the checks refuse to run there (SQLSTATE 0A000) rather than pass an orphan.

Where they differ from the declared keys (the application does none of these):
- Deleting parents. The SHARE lock waits for a running import, and writers of the child
  queue behind it. A transaction that has already written a child table and then
  deletes a parent upgrades its lock, which can deadlock with an import. Declared keys
  locked rows instead.
- An id deleted and inserted again within one statement passes (NO ACTION, where the
  declared keys said RESTRICT). Changing an id that is referenced is refused, where
  the declared keys cascaded (ON UPDATE CASCADE; SQLite still cascades). TRUNCATE of a
  referenced parent is refused even with CASCADE.
- A data-only restore (pg_dump --data-only) must be run with --disable-triggers: pg_dump
  no longer sees these dependencies when it orders the tables.

SQLite keeps its declared keys: it checks them by a primary-key probe per row with no
row locks (about 6% of an insert there).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """`child`.`column` names a row of `parent` by its id (nullable or not)."""

    child: str
    column: str
    parent: str

    @property
    def constraint(self) -> str:
        """The name PostgreSQL gave the declared key (Piccolo's tables)."""
        return f"{self.child}_{self.column}_fkey"


# Every query runs through EXECUTE: PL/pgSQL would otherwise keep, per connection, the
# plan it made for the first statement's transition table (one row, say) and reuse it
# for a million rows, nested loops and all. Tables are named with the trigger's schema,
# so a session with another search_path (pg_dump's data-only restore sets it empty)
# checks the same tables.
_READ_COMMITTED_ONLY = (
    "  IF current_setting('transaction_isolation') <> 'read committed' THEN "
    "RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', "
    "MESSAGE = format('references of %I are checked at READ COMMITTED only', TG_TABLE_NAME), "
    "HINT = 'at REPEATABLE READ or SERIALIZABLE the check could not see a row deleted "
    "or written since the snapshot'; END IF;"
)


def _check(query: str, raise_: str) -> str:
    """PL/pgSQL: run `query` (one %I for the schema; it selects a value or nothing)
    into `missing`, and `raise_` if it found one."""
    return (
        f"  EXECUTE format('{query}', TG_TABLE_SCHEMA) INTO missing;\n"
        f"  IF missing IS NOT NULL THEN {raise_} END IF;"
    )


def _violation(constraint: str, table: str, message: str, detail: str) -> str:
    return (
        "RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', "
        f"CONSTRAINT = '{constraint}', SCHEMA = TG_TABLE_SCHEMA, TABLE = '{table}', "
        f"MESSAGE = '{message}', DETAIL = format('{detail}', missing);"
    )


def _child_function(child: str, references: list[Reference]) -> str:
    checks = "\n".join(
        _check(
            f"SELECT a.{r.column} FROM added AS a WHERE a.{r.column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM %I.{r.parent} AS p WHERE p.id = a.{r.column}) "
            "LIMIT 1",
            _violation(
                r.constraint,
                child,
                f'insert or update on table "{child}" violates foreign key constraint '
                f'"{r.constraint}"',
                f'Key ({r.column})=(%s) is not present in table "{r.parent}".',
            ),
        )
        for r in references
    )
    return (
        f"CREATE FUNCTION {child}_keys_check() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE missing bigint;\nBEGIN\n{_READ_COMMITTED_ONLY}\n{checks}\n"
        "  RETURN NULL;\nEND $$"
    )


def _parent_function(parent: str, references: list[Reference]) -> str:
    # An UPDATE that keeps every id (all of them, in practice) returns before the lock.
    gone = (
        "  EXECUTE format('SELECT r.id FROM removed AS r WHERE NOT EXISTS "
        f"(SELECT 1 FROM %I.{parent} AS p WHERE p.id = r.id) LIMIT 1', TG_TABLE_SCHEMA) "
        "INTO missing;\n  IF missing IS NULL THEN RETURN NULL; END IF;"
    )
    locks = "\n".join(
        f"  EXECUTE format('LOCK TABLE %I.{child} IN SHARE MODE', TG_TABLE_SCHEMA);"
        for child in sorted({r.child for r in references})
    )
    checks = "\n".join(
        _check(
            f"SELECT c.{r.column} FROM %I.{r.child} AS c "
            f"WHERE c.{r.column} IN (SELECT id FROM removed) AND NOT EXISTS "
            f"(SELECT 1 FROM %1$I.{parent} AS p WHERE p.id = c.{r.column}) LIMIT 1",
            _violation(
                r.constraint,
                r.child,
                f'update or delete on table "{parent}" violates foreign key constraint '
                f'"{r.constraint}" on table "{r.child}"',
                f'Key (id)=(%s) is still referenced from table "{r.child}".',
            ),
        )
        for r in references
    )
    return (
        f"CREATE FUNCTION {parent}_referenced_check() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$\nDECLARE missing bigint;\nBEGIN\n{gone}\n{_READ_COMMITTED_ONLY}\n"
        f"{locks}\n{checks}\n  RETURN NULL;\nEND $$"
    )


def _truncate_function(parent: str, references: list[Reference]) -> str:
    checks = "\n".join(
        _check(
            f"SELECT 1 FROM %I.{r.child} WHERE {r.column} IS NOT NULL LIMIT 1",
            "RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', "
            f"MESSAGE = 'cannot truncate {parent}: {r.child}.{r.column} references it';",
        )
        for r in references
    )
    return (
        f"CREATE FUNCTION {parent}_truncate_check() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$\nDECLARE missing bigint;\nBEGIN\n{checks}\n  RETURN NULL;\nEND $$"
    )


def _by(references: Iterable[Reference], side: str) -> dict[str, list[Reference]]:
    grouped: dict[str, list[Reference]] = {}
    for r in references:
        grouped.setdefault(getattr(r, side), []).append(r)
    return grouped


def _trigger(name: str, when: str, table: str, function: str, transition: str = "") -> str:
    referencing = f"REFERENCING {transition} " if transition else ""
    return (
        f"CREATE TRIGGER {name} {when} ON {table} {referencing}FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {function}()"
    )


def install(references: list[Reference]) -> list[str]:
    """Statements that drop the declared keys of `references` and install the checks.
    Every reference of a parent must be in one call (its function checks them all)."""
    statements = [f"ALTER TABLE {r.child} DROP CONSTRAINT {r.constraint}" for r in references]
    for child, refs in _by(references, "child").items():
        check, added = f"{child}_keys_check", "NEW TABLE AS added"
        statements += [
            _child_function(child, refs),
            _trigger(f"{child}_keys_inserted", "AFTER INSERT", child, check, added),
            _trigger(f"{child}_keys_updated", "AFTER UPDATE", child, check, added),
        ]
    for parent, refs in _by(references, "parent").items():
        check, removed = f"{parent}_referenced_check", "OLD TABLE AS removed"
        statements += [
            _parent_function(parent, refs),
            _trigger(f"{parent}_referenced_deleted", "AFTER DELETE", parent, check, removed),
            _trigger(f"{parent}_referenced_updated", "AFTER UPDATE", parent, check, removed),
            _truncate_function(parent, refs),
            _trigger(
                f"{parent}_referenced_truncated",
                "BEFORE TRUNCATE",
                parent,
                f"{parent}_truncate_check",
            ),
        ]
    return statements


def uninstall(references: list[Reference]) -> list[str]:
    """Statements that remove the checks and declare the keys again (as Piccolo did)."""
    statements: list[str] = []
    for child in _by(references, "child"):
        statements += [
            f"DROP TRIGGER {child}_keys_inserted ON {child}",
            f"DROP TRIGGER {child}_keys_updated ON {child}",
            f"DROP FUNCTION {child}_keys_check()",
        ]
    for parent in _by(references, "parent"):
        statements += [
            f"DROP TRIGGER {parent}_referenced_deleted ON {parent}",
            f"DROP TRIGGER {parent}_referenced_updated ON {parent}",
            f"DROP TRIGGER {parent}_referenced_truncated ON {parent}",
            f"DROP FUNCTION {parent}_referenced_check()",
            f"DROP FUNCTION {parent}_truncate_check()",
        ]
    statements += [
        f"ALTER TABLE {r.child} ADD CONSTRAINT {r.constraint} FOREIGN KEY ({r.column}) "
        f"REFERENCES {r.parent} (id) ON UPDATE CASCADE ON DELETE RESTRICT"
        for r in references
    ]
    return statements
