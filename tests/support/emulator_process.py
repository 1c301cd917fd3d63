"""Runs `python -m emulator serve --port 0 ...` as a subprocess for tests: its URL (and, with
`--lambda-api-port`, its Lambda API's URL), its log, and its stop."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
_URL_LINE = re.compile(r"Function URL: (http://127\.0\.0\.1:\d+/)")
_LAMBDA_API_LINE = re.compile(r"^Lambda API: (http://127\.0\.0\.1:\d+)$", re.MULTILINE)

# Fixed test credentials: `--auth AWS_IAM` verifies signatures with them, and the runtime receives them.
TEST_ACCESS_KEY = "AKIDEMULATORTEST"
TEST_SECRET_KEY = "emulator-test-secret-key"


def run_emulator(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m emulator ARGS` run to its end in a hermetic environment, its output captured (for the
    commands and option errors that exit on their own)."""
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        cwd=REPO,
        env=hermetic_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_make(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`make ARGS` in the checkout, hermetically, its output captured (dry runs and option errors)."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        env=hermetic_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def hermetic_env(**extra: str) -> dict[str, str]:
    """This environment without AWS settings, profile files, metadata probes or PYTHONUNBUFFERED, with
    the checkout importable; `extra` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONUNBUFFERED"}
    env.update(
        PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'runtime'}",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return env


class EmulatorProcess:
    """A running emulator: `.url`, `.lambda_api_url` (None without `--lambda-api-port`), everything it
    and its runtimes printed (`log()`), and `stop()`.

    Use it as a context manager, or call `stop()` in a `finally`.
    """

    def __init__(self, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
            cwd=REPO,
            env=hermetic_env(PYTHONUNBUFFERED="1", **(env or {})),
            stdin=subprocess.DEVNULL,
            # Separate pipes: stdout carries only the ready line, stderr the emulator's and its runtimes'
            # logs. One merged pipe let a runtime's half-written line run into the ready line.
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._urls: queue.Queue[str | None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._pump, args=(stream, watch), name=f"emulator-{name}", daemon=True)
            for name, stream, watch in (
                ("stdout", self.proc.stdout, True),
                ("stderr", self.proc.stderr, False),
            )
        ]
        for reader in self._readers:
            reader.start()
        try:
            self.url = self._wait_ready()
            self.lambda_api_url = self._wait_lambda_api() if "--lambda-api-port" in args else None
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log(self) -> str:
        """Everything printed so far, one line per line."""
        with self._lock:
            return "\n".join(self._lines)

    def wait_for_log(self, pattern: str, *, timeout: float = 15.0) -> re.Match[str]:
        """The first match of `pattern` in the log, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.log()):
                return match
            time.sleep(0.05)
        raise AssertionError(f"log never matched {pattern!r}:\n{self.log()}")

    def json_lines(self, marker: str) -> list[dict[str, Any]]:
        """The JSON object of every log line holding `marker` (from the line's first `{`), in order."""
        return [json.loads(line[line.index("{") :]) for line in self.log().splitlines() if marker in line]

    def wait_for_json(self, marker: str, *, timeout: float = 15.0, **fields: object) -> dict[str, Any]:
        """The first JSON log line holding `marker` whose members equal `fields`, waiting up to `timeout`
        seconds for it (the runtime's output can trail the reply the client already has)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for document in self.json_lines(marker):
                if all(document.get(name) == value for name, value in fields.items()):
                    return document
            time.sleep(0.02)
        raise AssertionError(f"no {marker!r} line with {fields}:\n{self.log()[-4000:]}")

    def stop(self) -> int:
        """SIGTERM (SIGKILL if it lingers), then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for reader in self._readers:
            reader.join(timeout=5)
        return self.proc.returncode

    def _pump(self, stream: IO[str], watch_for_url: bool) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            with self._lock:
                self._lines.append(line)  # both pipes into one log, in arrival order
            if watch_for_url and (match := _URL_LINE.fullmatch(line)):
                self._urls.put(match.group(1))
        if watch_for_url:
            self._urls.put(None)

    def _wait_lambda_api(self) -> str:
        """The `Lambda API: URL` line's URL (printed right after the Function URL's)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if match := _LAMBDA_API_LINE.search(self.log()):
                return match.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no 'Lambda API:' ready line:\n{self.log()}")

    def _wait_ready(self) -> str:
        try:
            url = self._urls.get(timeout=READY_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"emulator not ready after {READY_TIMEOUT_S}s:\n{self.log()}") from None
        if url is None:
            raise AssertionError(f"emulator exited before it was ready:\n{self.log()}")
        return url
