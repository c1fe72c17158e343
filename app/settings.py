"""Settings from environment variables (documented in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kernel.client_address import Network, parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str
    job_queue: str
    data_dir: Path
    host: str
    port: int
    web_workers: int
    pg_pool_size: int
    token_ttl_minutes: int
    max_body_bytes: int
    job_lease_seconds: int
    job_resend_seconds: int
    sweep_interval_seconds: float
    embedded_worker_threads: int
    log_level: str
    export_max_rows: int
    review_min_reviewers: int
    outcome_late_days: int
    outcome_upload_max_bytes: int
    outcome_import_parts: int = 2
    daily_scan_hour: int | None = None  # Beijing hour; None: no automatic daily scan
    public_base_url: str = ""  # the address documents' QR codes point at; "": HOST:PORT
    login_delay_after: int = 5
    login_lock_after: int = 10
    login_address_lock_after: int = 50
    login_lock_minutes: int = 15
    trusted_proxies: tuple[Network, ...] = ()
    job_stop_grace_seconds: float = 30.0

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url in ("", "embedded", "memory")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("DATA_DIR", str(DEFAULT_DATA_DIR)))
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'registry.sqlite'}",
            broker_url=env.get("BROKER_URL", ""),
            job_queue=env.get("JOB_QUEUE", "jobs"),
            data_dir=data_dir,
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8000")),
            web_workers=int(env.get("WEB_WORKERS", "1")),
            pg_pool_size=int(env.get("PG_POOL_SIZE", "20")),
            token_ttl_minutes=int(env.get("TOKEN_TTL_MINUTES", "480")),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", str(20 * 1024 * 1024))),
            job_lease_seconds=int(env.get("JOB_LEASE_SECONDS", "120")),
            job_resend_seconds=int(env.get("JOB_RESEND_SECONDS", "60")),
            sweep_interval_seconds=float(env.get("SWEEP_INTERVAL_SECONDS", "15")),
            embedded_worker_threads=int(env.get("EMBEDDED_WORKER_THREADS", "2")),
            log_level=env.get("LOG_LEVEL", "INFO"),
            export_max_rows=int(env.get("EXPORT_MAX_ROWS", "1000000")),
            review_min_reviewers=int(env.get("REVIEW_MIN_REVIEWERS", "3")),
            outcome_late_days=int(env.get("OUTCOME_LATE_DAYS", "30")),
            outcome_upload_max_bytes=int(env.get("OUTCOME_UPLOAD_MAX_BYTES", str(256 << 20))),
            outcome_import_parts=_at_least_one(
                "OUTCOME_IMPORT_PARTS", env.get("OUTCOME_IMPORT_PARTS", "2")
            ),
            daily_scan_hour=_hour(env.get("DAILY_SCAN_HOUR", "")),
            public_base_url=_base_url(env.get("PUBLIC_BASE_URL", "")),
            login_delay_after=_at_least_one("LOGIN_DELAY_AFTER", env.get("LOGIN_DELAY_AFTER", "5")),
            login_lock_after=_at_least_one("LOGIN_LOCK_AFTER", env.get("LOGIN_LOCK_AFTER", "10")),
            login_address_lock_after=_at_least_one(
                "LOGIN_ADDRESS_LOCK_AFTER", env.get("LOGIN_ADDRESS_LOCK_AFTER", "50")
            ),
            login_lock_minutes=_at_least_one(
                "LOGIN_LOCK_MINUTES", env.get("LOGIN_LOCK_MINUTES", "15")
            ),
            trusted_proxies=parse_networks(env.get("TRUSTED_PROXIES", "")),
            job_stop_grace_seconds=_not_negative(
                "JOB_STOP_GRACE_SECONDS", env.get("JOB_STOP_GRACE_SECONDS", "30")
            ),
        )


def _at_least_one(name: str, text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(f"{name} must be 1 or more, not {text!r}")
    return number


def _not_negative(name: str, text: str) -> float:
    number = float(text)
    if not number >= 0:
        raise ValueError(f"{name} must be 0 or more, not {text!r}")
    return number


def _hour(text: str) -> int | None:
    """An hour of the day, 0-23; blank: None."""
    if not text.strip():
        return None
    hour = int(text)
    if not 0 <= hour <= 23:
        raise ValueError(f"DAILY_SCAN_HOUR must be an hour from 0 to 23, not {text!r}")
    return hour


def _base_url(text: str) -> str:
    """An http(s) address without a trailing slash; blank: "" (documents then point at
    HOST:PORT). Checked at startup: a typo would print on every document's QR code."""
    text = text.strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    odd = parts.query or parts.fragment or "@" in parts.netloc  # breaks every QR code
    if parts.scheme not in ("http", "https") or not parts.hostname or odd:
        raise ValueError(
            f"PUBLIC_BASE_URL must be an http:// or https:// address such as "
            f"https://rsj.dg.gov.cn/skills, not {text!r}"
        )
    return text


# Every variable Settings reads, with what it means; README's table and
# docker-compose.yml are checked against this list by tests/unit/test_deployment.py.
ENVIRONMENT: dict[str, str] = {
    "DATABASE_URL": "sqlite:///path (default: var/registry.sqlite) or postgresql://…",
    "BROKER_URL": "empty: in-process worker; amqp://… RabbitMQ; redis://… Redis",
    "JOB_QUEUE": "queue name on the broker (default jobs)",
    "DATA_DIR": "folder for the SQLite file and generated files (default var/)",
    "HOST": "address the API binds (default 127.0.0.1)",
    "PORT": "API port (default 8000)",
    "WEB_WORKERS": "API server processes (default 1)",
    "PG_POOL_SIZE": "PostgreSQL pool size per API process (default 20)",
    "TOKEN_TTL_MINUTES": "lifetime of a staff login token (default 480)",
    "MAX_BODY_BYTES": "largest request body accepted; larger gets 413 (default 20 MiB)",
    "JOB_LEASE_SECONDS": "how long a running job may go without progress before another "
    "worker may take it over (default 120)",
    "JOB_RESEND_SECONDS": "how long a sent job may stay pending before the sweeper re-sends "
    "it (default 60)",
    "JOB_STOP_GRACE_SECONDS": "on a graceful stop of a worker, how long running jobs may "
    "go on to finish; one still running then is handed back to run again later, not "
    "counted as a death (default 30)",
    "SWEEP_INTERVAL_SECONDS": "how often each process sweeps (default 15)",
    "EMBEDDED_WORKER_THREADS": "job threads of the in-process worker (default 2)",
    "LOG_LEVEL": "logging level (default INFO)",
    "EXPORT_MAX_ROWS": "most rows one CSV/XLSX export may hold; a search matching more "
    "gets 400 asking to narrow it (default 1000000)",
    "AUTH_CACHE_SECONDS": "how long a process trusts a credential it has looked up; a "
    "revocation reaches other processes within this time (default 2, 0 = off)",
    "OUTCOME_LATE_DAYS": "an outcome reported more than this many days after its course "
    "ended is accepted but flagged late (default 30)",
    "OUTCOME_UPLOAD_MAX_BYTES": "largest outcome report file accepted; larger gets 413 "
    "(default 256 MiB)",
    "OUTCOME_IMPORT_PARTS": "PostgreSQL: transactions that store a large outcome report "
    "side by side, each on a connection of its own (default 2, about one per database "
    "core; 1 = one transaction). SQLite always uses one",
    "UPLOAD_MAX_COLUMNS": "most columns an uploaded CSV or XLSX file may have or declare; "
    "more gets 400 on file (default 200)",
    "UPLOAD_MAX_ROWS": "most rows an uploaded XLSX sheet may have or declare (default 1048576)",
    "CLAIM_FILE_MAX_ROWS": "most rows after the header of a claim file or internship month "
    "file (held whole in memory, about 1 KB a row); more gets 400 on file or fails the "
    "file's job (default 100000)",
    "UPLOAD_MAX_FIELD_BYTES": "longest field of an uploaded CSV file, or text of an XLSX "
    "cell or shared string; longer gets 413 (default 65536)",
    "UPLOAD_MAX_LINE_BYTES": "longest line of an uploaded CSV file; longer gets 413 "
    "(default 1048576)",
    "UPLOAD_MAX_XLSX_UNPACKED_BYTES": "most bytes an uploaded XLSX may unpack to, all its "
    "parts together; more gets 413 (default 1 GiB)",
    "UPLOAD_MAX_COMPRESSION_RATIO": "most times a part of an uploaded XLSX may unpack its "
    "packed size (parts over 1 MiB); more gets 413 (default 100)",
    "UPLOAD_PARSE_MEMORY_MB": "memory (MB of address space) the child process that parses "
    "an uploaded file may add to its own; more gets 400 on file or fails the file's job: "
    "the file could not be read (default 1024)",
    "UPLOAD_PARSE_CPU_SECONDS": "CPU seconds the child process that parses an uploaded file "
    "may use; more likewise (default 300)",
    "UPLOAD_PARSE_CONCURRENCY": "most such child processes one process runs at once for "
    "uploads' checks only (a worker runs at most one per job thread) (default 2)",
    "UPLOAD_PARSE_QUEUE_SECONDS": "how long an upload waits for one when all are busy; "
    "then 429 with Retry-After (default 10)",
    "REVIEW_MIN_REVIEWERS": "fewest reviewers who must score an expert review case "
    "(default 3); a case may ask for more",
    "DAILY_SCAN_HOUR": "Beijing hour (0-23) from which the sweepers queue each day's "
    "automatic scan (policy finds people), once a day across every process; empty "
    "(default): no automatic scan",
    "PUBLIC_BASE_URL": "public address of the service (https://…, optionally with a path "
    "prefix) that documents' QR codes and verify links point at; empty (default): "
    "http://HOST:PORT, right only on one machine",
    "LOGIN_DELAY_AFTER": "failed logins of one account name within LOGIN_LOCK_MINUTES "
    "after which each further attempt must wait 1, 2, 4 … seconds (default 5)",
    "LOGIN_LOCK_AFTER": "failed logins of one account name within LOGIN_LOCK_MINUTES that "
    "lock it for LOGIN_LOCK_MINUTES; an admin can unlock it (default 10)",
    "LOGIN_ADDRESS_LOCK_AFTER": "failed logins from one client address (an IPv6 client: "
    "its /64) within LOGIN_LOCK_MINUTES that lock logins from that address (default 50)",
    "LOGIN_LOCK_MINUTES": "window in which failed logins count, and length of a lockout "
    "(default 15)",
    "TRUSTED_PROXIES": "comma-separated IPs or CIDR ranges of reverse proxies whose "
    "X-Forwarded-For gives the client address; empty (default): the header is ignored",
    "JOB_HANDLER_MODULES": "extra modules registering job kinds, comma-separated (tests)",
    "WORKER_HEARTBEAT_FILE": "set by python -m app worker (the supervisor) for each worker "
    "process: "
    "the file its event loop touches every second (not set by hand)",
}
