"""Data files the service reads while it runs, read and checked when a process starts
(the API and each worker): a broken one stops the process with its message, where
otherwise every request that needs it would fail."""

from __future__ import annotations

from subsidies.batches.payment_layout import configured_layouts


def check_data_files() -> None:
    try:
        configured_layouts()
    except ValueError as exc:
        raise RuntimeError(f"cannot start: {exc}") from exc
