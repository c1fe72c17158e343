"""A real `python -m app serve` process on a free port, for end-to-end tests."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credential(self, label: str) -> str:
        """The secret on the demo-credentials line that starts with `label`."""
        for line in (self.data_dir / "demo-credentials.txt").read_text().splitlines():
            if line.split()[:2] == label.split():
                return line.split()[-1]
        raise KeyError(label)

    def interrupt(self, timeout: float = 40) -> int:
        """Ctrl-C, as a person would press it; returns the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(data_dir: Path, *, extra_args: tuple[str, ...] = (), **env: str) -> Server:
    port = processes.free_port()
    log = data_dir / f"serve-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = processes.start(
        [str(processes.VENV_BIN / "python"), "-m", "app", "serve", *extra_args],
        log,
        PORT=str(port),
        DATA_DIR=str(data_dir),
        **env,
    )
    try:
        processes.wait_for_port(port, timeout=60)
    except TimeoutError:
        processes.kill_group(proc)
        raise AssertionError(f"server did not start:\n{log.read_text(errors='replace')}") from None
    return Server(proc, port, data_dir, log)
