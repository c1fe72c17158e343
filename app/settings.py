"""Settings from environment variables (documented in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        )
