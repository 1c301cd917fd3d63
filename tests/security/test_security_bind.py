"""The emulator listens on 127.0.0.1 only, unless `--host` says otherwise, and then it warns on stderr."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import IO

import pytest

from tests.security.listening_sockets import Listener, listening_sockets
from tests.support.emulator_process import REPO, EmulatorProcess, hermetic_env, run_emulator

READY_TIMEOUT_S = 60.0
_READY = re.compile(r"^(?:Function URL|Bedrock stand-in): http://(?P<host>[^\s/]+):(?P<port>\d+)/?$")
WARNING = "warning: binding"
# A runtime that never asks for work: these tests only look at sockets, and it stops with the emulator.
IDLE_RUNTIME = ("--runtime-cmd", "sleep 120")


class _Started:
    """`python -m emulator ARGS` until its ready line: its pid, the bound port, and what it wrote."""

    def __init__(self, args: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", *args],
            cwd=REPO,
            env=hermetic_env(PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self._ready: queue.Queue[re.Match[str] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            if match := _READY.match(line.strip()):
                self._ready.put(match)
        self._ready.put(None)

    def _read_stderr(self, stream: IO[str]) -> None:
        self.stderr.extend(line.rstrip("\n") for line in stream)

    def wait_ready(self) -> re.Match[str]:
        match = self._ready.get(timeout=READY_TIMEOUT_S)
        assert match is not None, "\n".join(self.stderr)
        return match

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture(scope="module")
def default_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(IDLE_RUNTIME) as emulator:
        yield emulator


def _only_loopback(listeners: list[Listener]) -> None:
    assert listeners, "expected listening sockets"
    assert [x for x in listeners if not x.is_loopback] == []


def test_default_serve_listens_on_loopback_only(default_emulator: EmulatorProcess) -> None:
    port = int(default_emulator.url.rsplit(":", 1)[1].strip("/"))
    listeners = listening_sockets(default_emulator.proc.pid)
    # The Function URL, the Runtime API and the Bedrock stand-in: all on 127.0.0.1.
    assert len(listeners) >= 3, listeners
    assert Listener("127.0.0.1", port) in listeners
    assert {x.address for x in listeners} == {"127.0.0.1"}
    assert WARNING not in default_emulator.log()


def test_the_socket_reader_sees_a_wildcard_listener() -> None:
    """Control: the /proc reader reports 0.0.0.0 as such (so the loopback assertion can fail)."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))
        server.listen()
        found = [x for x in listening_sockets(os.getpid()) if x.port == server.getsockname()[1]]
    assert found == [Listener("0.0.0.0", found[0].port)]
    assert not found[0].is_loopback


def test_bedrock_stub_alone_listens_on_loopback_without_warning() -> None:
    started = _Started(["bedrock-stub"])
    try:
        ready = started.wait_ready()
        assert ready["host"] == "127.0.0.1"
        _only_loopback(listening_sockets(started.proc.pid))
    finally:
        started.stop()
    assert not [line for line in started.stderr if WARNING in line]


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--host", "0.0.0.0", "--port", "0", *IDLE_RUNTIME],
        ["bedrock-stub", "--host", "0.0.0.0"],
    ],
    ids=["serve", "bedrock-stub"],
)
def test_another_host_needs_the_flag_and_warns_first(args: list[str]) -> None:
    # Bound for well under a second: stopped as soon as the ready line shows the bind happened.
    started = _Started(args)
    try:
        ready = started.wait_ready()
        listeners = listening_sockets(started.proc.pid)
    finally:
        started.stop()
    assert ready["host"] == "0.0.0.0"
    port = int(ready["port"])
    assert Listener("0.0.0.0", port) in listeners  # the flag did what it said
    # Only the address asked for is exposed: the Runtime API and the stand-in stay on loopback.
    others = [x for x in listeners if x.port != port]
    assert len(others) == (2 if args[0] == "serve" else 0), listeners
    assert [x for x in others if not x.is_loopback] == []
    warnings = [line for line in started.stderr if WARNING in line]
    assert warnings == [
        "warning: binding 0.0.0.0 exposes the emulator (and your credentials' reach) beyond this machine"
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_hosts_do_not_warn(host: str) -> None:
    started = _Started(["bedrock-stub", "--host", host])
    try:
        started.wait_ready()
        _only_loopback(listening_sockets(started.proc.pid))
    finally:
        started.stop()
    assert not [line for line in started.stderr if WARNING in line]


def test_demo_with_another_host_warns_too() -> None:
    """`demo` binds `--host` as well (for one short prompt), so it gives the same warning first."""
    result = run_emulator("demo", "--host", "0.0.0.0", "--prompt", "hi @stub:tokens=2", timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: binding 0.0.0.0 exposes the emulator"), result.stderr
