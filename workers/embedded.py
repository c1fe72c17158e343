"""The in-process worker of the embedded default (no BROKER_URL)."""

from __future__ import annotations

import logging

import dramatiq

from workers.broker import broker, settings
from workers.gate import GATE
from workers.stopping import HAND_BACK_SECONDS

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads or settings.embedded_worker_threads
        self._worker: dramatiq.Worker | None = None

    def start(self) -> None:
        import workers.actors  # noqa: F401  (declares the actors on the broker)

        self._worker = dramatiq.Worker(broker, worker_threads=self._threads, worker_timeout=200)
        self._worker.start()

    def stop(self) -> None:
        """Lets running jobs finish within JOB_STOP_GRACE_SECONDS; one still running
        then is handed back (workers.broker.HandBackOnStop), and queued messages are
        re-sent from their pending rows at the next start."""
        if self._worker is not None:
            seconds = settings.job_stop_grace_seconds + HAND_BACK_SECONDS + 5
            self._worker.stop(timeout=int(seconds * 1000))
            GATE.reopen()  # this process may start a worker, or run jobs, again
            # Worker.start() registers a middleware on the broker that stop() leaves
            # behind; a process that starts the worker again (tests) would pile them up.
            broker.middleware[:] = [
                m for m in broker.middleware if getattr(m, "worker", None) is not self._worker
            ]
            self._worker = None
