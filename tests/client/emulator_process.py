"""Runs `python -m emulator serve --port 0` as a subprocess for the client tests and stops it afterwards."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY = re.compile(r"Function URL: (http://127\.0\.0\.1:\d+/)")
START_TIMEOUT = 60.0

# Fixed test credentials: the emulator verifies signatures with them and passes them to the runtime.
TEST_ACCESS_KEY = "AKIDSTREAMCLIENTTEST"
TEST_SECRET_KEY = "stream-client-test-secret"


@contextmanager
def running_emulator(*args: str, env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Yield the Function URL; SIGTERM (then kill) the emulator on exit; fail with its output if not ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield _wait_ready(lines, output)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        reader.join(timeout=5)


def _wait_ready(lines: queue.Queue[str | None], output: list[str]) -> str:
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            raise RuntimeError(f"emulator not ready after {START_TIMEOUT}s: {''.join(output)}") from None
        if line is None:
            raise RuntimeError(f"emulator exited before it was ready: {''.join(output)}")
        output.append(line)
        if match := READY.search(line):
            return match.group(1)
