"""`python -m emulator serve` as a benchmark subprocess: started with options, its port, and its stop.

A process of its own (as `make local` runs it), so its Function URL front and Runtime API server do not
share a GIL with the client being timed; its log (START/END/REPORT and the runtime's lines) goes to a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from bench.processes import end_process

REPO = Path(__file__).resolve().parents[1]
READY_PREFIX = "Function URL: "
_START_TIMEOUT_S = 60.0


class EmulatorProcess:
    """`EmulatorProcess.start(options, log=path)`; `.port`; `.close()` (or `with`)."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: IO[str]) -> None:
        self._process = process
        self._log = log
        self.port = port

    @classmethod
    def start(cls, options: Sequence[str], *, log_path: Path) -> EmulatorProcess:
        """Run `python -m emulator serve --port 0 OPTIONS` and wait for its ready line."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), str(REPO / "runtime"), env.get("PYTHONPATH", "")) if p
        )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", *options],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        line = _first_line(process, _START_TIMEOUT_S)
        if not line.startswith(READY_PREFIX):
            end_process(process)
            log.close()
            raise RuntimeError(f"the emulator did not start ({line!r}); see {log_path}")
        port = int(line[len(READY_PREFIX) :].strip().rstrip("/").rsplit(":", 1)[1])
        return cls(process, port, log)

    def close(self) -> None:
        """SIGTERM (the emulator stops its runtimes), then wait; kill if it hangs."""
        end_process(self._process, grace_s=15)
        self._log.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or '' if none came within `timeout` (or the process ended)."""
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""
