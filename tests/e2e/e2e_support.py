"""Runs `python -m emulator serve --port 0` as a subprocess and talks to its Function URL over sockets."""

from __future__ import annotations

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60


@dataclass
class Emulator:
    """A running emulator: its Function URL and everything it has logged so far."""

    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def run_emulator(*args: str) -> Iterator[Emulator]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'runtime'}", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "emulator", "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    ready: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Function URL: "):
                ready.put(line.split(": ", 1)[1].strip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        url = ready.get(timeout=READY_TIMEOUT_S)
        yield Emulator(url=url, process=process, lines=lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)


@dataclass
class Reply:
    """A complete response plus the arrival time of each received piece (seconds after sending)."""

    status: int
    headers: dict[str, str]
    body: bytes
    arrivals: list[float]

    def json(self) -> object:
        return json.loads(self.body)

    def ndjson(self) -> list[dict]:
        return [json.loads(line) for line in self.body.decode().splitlines() if line]


def post(
    url: str,
    body: object,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    method: str = "POST",
    timeout: float = 30,
) -> Reply:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        started = time.monotonic()
        connection.request(
            method,
            "/" + (f"?{query}" if query else ""),
            body=raw,
            headers={"content-type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        pieces, arrivals = [], []
        while piece := response.read1(65536):
            pieces.append(piece)
            arrivals.append(time.monotonic() - started)
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, b"".join(pieces), arrivals
        )
    finally:
        connection.close()
