"""The Dramatiq broker, chosen by BROKER_URL.

- empty: embedded, an in-memory broker consumed by a worker inside the API process.
  Messages do not survive a restart, and need not: every job is a committed row,
  re-sent by the sweeper.
- amqp://...: RabbitMQ with publisher confirms, so a send returns only once the
  broker has the message.
- redis://...: Redis.
"""

from __future__ import annotations

import asyncio
import threading

import dramatiq
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from dramatiq.middleware.asyncio import AsyncIO

from app.settings import Settings


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url
    broker: dramatiq.Broker
    if settings.embedded_broker:
        broker = StubBroker()
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url)
    else:
        raise ValueError(f"BROKER_URL: unsupported scheme in {url!r}")
    broker.add_middleware(DaemonLoopAsyncIO())
    # After AsyncIO in the list: "after" hooks run in reverse order, so this one first.
    broker.add_middleware(FinishBeforeLoopStops(), after=DaemonLoopAsyncIO)
    broker.add_middleware(HandBackOnStop(settings.job_stop_grace_seconds))
    return broker


class DaemonLoopAsyncIO(AsyncIO):
    """dramatiq's AsyncIO with a daemon event-loop thread. A worker process that gets
    SIGTERM twice (systemd's default stop signals every process of the service, and
    dramatiq's main process passes its own on) exits from inside its graceful stop,
    before AsyncIO stops the loop; Python then waited forever for the loop's thread,
    and the service hung until killed. The graceful stop still stops and joins it."""

    def before_worker_boot(self, broker, worker):  # type: ignore[no-untyped-def]
        loop_thread = EventLoopThread(self.logger)
        loop_thread.daemon = True
        loop_thread.start(timeout=1.0)
        set_event_loop_thread(loop_thread)


class FinishBeforeLoopStops(Middleware):
    """Runs the before-close hooks (kernel.db.before_close) on the async actors' loop
    before dramatiq's AsyncIO middleware stops it, after the worker's threads: the
    audit sealing rounds the last jobs' commits scheduled there (audit.sealer) finish.
    A round cut off between two queries left its connection idle in transaction,
    holding the sealers' lock: every later sealing round of the process, and the
    shutdown that drains them, waited forever (an API process stopping its embedded
    worker; a test run hung so)."""

    def after_worker_shutdown(self, broker, worker):  # type: ignore[no-untyped-def]
        from kernel.db import before_close

        loop_thread = get_event_loop_thread()
        if loop_thread is not None and loop_thread.loop.is_running():
            loop_thread.run_coroutine(before_close())


class HandBackOnStop(Middleware):
    """A graceful stop of the worker (SIGTERM, the API process stopping its embedded
    worker) gives running jobs JOB_STOP_GRACE_SECONDS, then hands back those still
    running (workers.stopping) while the worker waits for its threads; the loop they
    run on stops only after that (this middleware's "after" hook runs before AsyncIO's)."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._stopping: threading.Thread | None = None

    def before_worker_shutdown(self, broker, worker):  # type: ignore[no-untyped-def]
        from workers.gate import GATE
        from workers.stopping import stop_jobs

        GATE.close()  # at once: no job waiting its turn starts from here on
        self._stopping = threading.Thread(
            target=stop_jobs, args=(self.grace_seconds,), name="stopping-jobs", daemon=True
        )
        self._stopping.start()

    def after_worker_shutdown(self, broker, worker):  # type: ignore[no-untyped-def]
        from workers.stopping import HAND_BACK_SECONDS

        if self._stopping is not None:
            self._stopping.join(timeout=self.grace_seconds + HAND_BACK_SECONDS)
            self._stopping = None


settings = Settings.from_env()
broker = build_broker(settings)
QUEUE = settings.job_queue
dramatiq.set_broker(broker)


async def send_job(job_id: int) -> None:
    from workers.actors import run_job

    if settings.embedded_broker:
        run_job.send(job_id)
    else:
        # Publishing blocks until the broker confirms; keep it off the event loop.
        await asyncio.to_thread(run_job.send, job_id)
