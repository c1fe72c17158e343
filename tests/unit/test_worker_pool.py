"""A standalone worker's pool holds a connection for every part a job may hold at once."""

from __future__ import annotations

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from app.settings import Settings
from workers.process import pool_size


def test_the_pool_has_room_for_every_threads_parts_lanes_and_heartbeat():
    two_parts = Settings.from_env({"OUTCOME_IMPORT_PARTS": "2"})
    four_parts = Settings.from_env({"OUTCOME_IMPORT_PARTS": "4"})
    four_threads = Worker(StubBroker(), worker_threads=4)  # what after_worker_boot gets
    # Each thread: its own transaction and one other part (or two lanes), a heartbeat;
    # two spare.
    assert pool_size(two_parts, four_threads) == 4 * 3 + 2
    assert pool_size(four_parts, four_threads) == 4 * 5 + 2
    assert pool_size(Settings.from_env({"OUTCOME_IMPORT_PARTS": "1"}), four_threads) == 14
