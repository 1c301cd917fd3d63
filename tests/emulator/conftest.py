"""Fixtures that run the emulator as users do: `python -m emulator serve --port 0 ...` in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RAW_RUNTIME = Path(__file__).resolve().parent / "raw_runtime.py"
TEST_KEY = "AKIDEMULATORTEST"
TEST_SECRET = "emulator-test-secret-key"


class EmulatorProcess:
    """A running `python -m emulator serve` with its stderr captured line by line."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update({"PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'runtime'}", "PYTHONUNBUFFERED": "1"})
        environ.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
            cwd=REPO,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.url = self._read_url()

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            found.append(self.proc.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=30)
        match = re.fullmatch(r"Function URL: (http://127\.0\.0\.1:\d+/)\n", found[0] if found else "")
        if match is None:
            self.stop()
            raise AssertionError(f"no Function URL line; stdout={found!r} stderr={self.log()}")
        return match.group(1)

    def log(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, *, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            time.sleep(0.05)
        raise AssertionError(f"log never matched {pattern!r}:\n{self.log()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def raw_runtime_args(*extra: str) -> list[str]:
    return ["--runtime-cmd", f"{sys.executable} {RAW_RUNTIME}", "--handler", "raw.handler", *extra]


@pytest.fixture(scope="module")
def raw_emulator() -> Iterator[EmulatorProcess]:
    """The emulator driving the raw-socket custom runtime (concurrency 1, generous timeout)."""
    emulator = EmulatorProcess(raw_runtime_args("--timeout", "20"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator_factory() -> Iterator[type[EmulatorProcess]]:
    """Start emulators with custom flags; every one is stopped after the test."""
    started: list[EmulatorProcess] = []

    class Tracked(EmulatorProcess):
        def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
            super().__init__(args, env=env)
            started.append(self)

    try:
        yield Tracked
    finally:
        for emulator in started:
            emulator.stop()
