"""The real services the integration tests use, at their standard local ports.

Locally an unreachable service skips the tests that need it (with the reason shown);
with CI=true it fails them, because CI machines run all three."""

from __future__ import annotations

import functools
import os
import socket

import pytest

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RABBIT_URL = os.environ.get("TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PORTS = {"postgresql": 5432, "redis": 6379, "rabbitmq": 5672}


@functools.cache
def reachable(service: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", PORTS[service]), timeout=1):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    if reachable(service):
        return
    message = f"{service} is not reachable on 127.0.0.1:{PORTS[service]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)


def forget_queue(broker_url: str, queue: str) -> None:
    """Removes a dramatiq queue (and its delay and dead-letter queues) from the broker."""
    if broker_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker_url)
        keys = list(client.scan_iter(f"dramatiq:{queue}*"))
        if keys:
            client.delete(*keys)
        return
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    channel = connection.channel()
    for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
        channel.queue_delete(name)
    connection.close()
