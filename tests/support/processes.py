"""Starting project processes (workers, servers) for tests, and stopping them for sure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def env_for(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def start(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Starts a process in its own process group, so a kill reaches its children."""
    handle = log.open("wb")
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env_for(**env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_worker(log: Path, **env: str) -> subprocess.Popen[bytes]:
    return start(
        [str(VENV_BIN / "dramatiq"), "workers.actors", "--processes", "1", "--threads", "2"],
        log,
        **env,
    )


def start_supervisor(log: Path, heartbeat_dir: Path, **env: str) -> subprocess.Popen[bytes]:
    """`python -m app worker` (workers.supervisor) with one worker slot of two threads,
    beating into `heartbeat_dir` (worker-0.beat holds the worker process's id)."""
    args = [str(VENV_BIN / "python"), "-m", "app", "worker", "--processes", "1"]
    args += ["--threads", "2", "--heartbeat-dir", str(heartbeat_dir)]
    return start(args, log, **env)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to `proc`'s group and to the groups of every process below it (a
    supervisor starts each worker in a session of its own)."""
    for pid in descendants(proc.pid):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    kill_group(proc)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")
