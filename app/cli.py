"""Command line: `python -m app <command>`."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from app.settings import Settings

T = TypeVar("T")


def _bind(settings: Settings) -> None:
    from kernel.db import bind_engine, make_engine

    bind_engine(make_engine(settings.database_url))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, then close pooled connections (their threads would keep the
    process alive)."""
    from kernel.db import close_pool

    async def run_and_close() -> T:
        from audit.sealer import seal_pending

        try:
            return await coro
        finally:
            await seal_pending()  # what this command recorded joins the chain now
            await close_pool()

    return asyncio.run(run_and_close())


@click.group()
def cli() -> None:
    """Skills-talent registry and subsidy service."""


@cli.command()
def migrate() -> None:
    """Apply all database migrations."""
    from app.migrate import migrate as run

    settings = Settings.from_env()
    _bind(settings)
    _run(run(quiet=False))


@cli.command("seed-demo")
def seed_demo() -> None:
    """Seed the demo data set once (a second run adds nothing)."""
    from app.demo import credentials_file
    from app.demo import seed_demo as seed

    settings = Settings.from_env()
    _bind(settings)
    added = _run(seed(settings.data_dir))
    click.echo("demo data seeded" if added else "demo data already present; nothing added")
    path = credentials_file(settings.data_dir)
    if path.exists():
        click.echo(path.read_text(encoding="utf-8"))


@cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(username: str, password_stdin: bool) -> None:
    """Create a staff account with the admin role (the first one, typically)."""
    from accounts.staff import create_staff
    from kernel.errors import DomainError

    settings = Settings.from_env()
    _bind(settings)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise click.ClickException("passwords differ")
    try:
        user = _run(
            create_staff(
                f"cli:{os.getenv('USER', 'root')}", username, username, ["admin"], password
            )
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"admin {user['username']} created (id {user['id']})")


@cli.command("audit-verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if it was tampered with."""
    from audit.log import verify_all

    settings = Settings.from_env()
    _bind(settings)
    verification = _run(verify_all())
    check = verification.check
    click.echo(
        f"checked {check.checked} entries, head seq {check.head_seq}, head hash {check.head_hash}"
    )
    if not check.ok:
        click.echo(f"BROKEN at seq {check.first_bad_seq}: {check.reason}", err=True)
        sys.exit(1)
    click.echo("chain intact")


@cli.command()
def scan() -> None:
    """Run the "policy finds people" scan now (for cron): proposes automatic claims."""
    from subsidies.skill_levels.scan import run_now

    settings = Settings.from_env()
    _bind(settings)
    click.echo(_run(run_now(f"cli:{os.getenv('USER', 'root')}")))


@cli.command()
@click.option("--processes", default=os.cpu_count() or 1, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option(
    "--heartbeat-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the workers beat (default: a new temporary folder).",
)
def worker(processes: int, threads: int, heartbeat_dir: Path | None) -> None:
    """Dramatiq worker processes against BROKER_URL, supervised: one that dies or hangs
    is replaced (workers.supervisor)."""
    from app.logs import configure
    from workers.supervisor import supervise

    settings = Settings.from_env()
    configure(settings.log_level)
    sys.exit(
        supervise(
            processes,
            threads,
            heartbeat_dir,
            settings.job_lease_seconds,
            settings.job_stop_grace_seconds,
        )
    )


@cli.command()
@click.option("--once", is_flag=True, help="Sweep one round and exit.")
def sweep(once: bool) -> None:
    """Re-send jobs whose message was lost or whose worker died."""
    from workers.process import sweep_loop
    from workers.sweeper import sweep_once

    settings = Settings.from_env()
    _bind(settings)
    if once:
        click.echo(f"re-sent: {_run(sweep_once(settings.job_resend_seconds))}")
    else:
        _run(sweep_loop(settings, asyncio.Event()))


@cli.command()
@click.option("--people", default=160, show_default=True, help="How many people to generate.")
def demo(people: int) -> None:
    """The whole path on a fresh database (`make demo` gives it one under var/demo)."""
    from app.demo_path import DemoError, print_summary, run_demo

    settings = Settings.from_env()
    _bind(settings)
    try:
        summary = _run(run_demo(settings, people))
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    print_summary(summary, settings)


@cli.command()
@click.option("--seed/--no-seed", default=True, help="Seed the demo data first.")
@click.option(
    "--migrate/--no-migrate",
    "run_migrate",
    default=True,
    help="Apply migrations first (off when a separate step migrates, as in docker-compose).",
)
def serve(seed: bool, run_migrate: bool) -> None:
    """Migrate, seed the demo data once, and serve the API (with an in-process worker
    unless BROKER_URL names a broker)."""
    import uvicorn

    from app.demo import credentials_file
    from app.demo import seed_demo as seed_fn
    from app.migrate import migrate as run_migrations

    settings = Settings.from_env()
    _bind(settings)

    async def prepare() -> None:
        if run_migrate:
            await run_migrations()
        if seed:
            await seed_fn(settings.data_dir)

    _run(prepare())
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"\nAPI:           {base}/api/v1/health")
    click.echo(f"OpenAPI docs:  {base}/schema/swagger  (JSON: {base}/schema/openapi.json)")
    click.echo(f"Database:      {settings.database_url}")
    click.echo(
        f"Jobs:          {'in-process worker' if settings.embedded_broker else settings.broker_url}"
    )
    path = credentials_file(settings.data_dir)
    if seed and path.exists():
        click.echo("\n" + path.read_text(encoding="utf-8"))
    click.echo("Ctrl-C stops the server and its worker.\n")
    uvicorn.run(
        "app.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=settings.web_workers if settings.web_workers > 1 else None,
        log_config=None,
        access_log=False,
        # X-Forwarded-For is read only from TRUSTED_PROXIES (kernel.client_address).
        proxy_headers=False,
        timeout_graceful_shutdown=15,
    )


if __name__ == "__main__":
    cli()
