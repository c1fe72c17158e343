"""The in-process worker of the embedded default (no BROKER_URL)."""

from __future__ import annotations

import logging

import dramatiq

from workers.broker import broker, settings

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads or settings.embedded_worker_threads
        self._worker: dramatiq.Worker | None = None

    def start(self) -> None:
        import workers.actors  # noqa: F401  (declares the actors on the broker)

        self._worker = dramatiq.Worker(broker, worker_threads=self._threads, worker_timeout=200)
        self._worker.start()

    def stop(self, grace_seconds: float = 10) -> None:
        """Lets running jobs finish within the grace period. A job still running after
        it keeps its row in `running`; the sweeper picks it up once its lease expires,
        and queued messages are re-sent from their pending rows."""
        if self._worker is not None:
            self._worker.stop(timeout=int(grace_seconds * 1000))
            # Worker.start() registers a middleware on the broker that stop() leaves
            # behind; a process that starts the worker again (tests) would pile them up.
            broker.middleware[:] = [
                m for m in broker.middleware if getattr(m, "worker", None) is not self._worker
            ]
            self._worker = None
