"""Applies every Piccolo migration to the bound engine (never create_table)."""

from __future__ import annotations

import contextlib
import io

from kernel.db import engine, prepare_sqlite_file


async def migrate(quiet: bool = True) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    prepare_sqlite_file(engine())
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}\n{out.getvalue()}")
    # The default policy documents are data the schema's users need, kept in the repo.
    from subsidies.policies.catalogue import sync_defaults

    await sync_defaults()
