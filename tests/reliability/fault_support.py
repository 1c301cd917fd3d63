"""Helpers for the fault matrix: requests, SSE parsing, log records, runtime pids and abandoned streams."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from emulator.stub_replies import reply_tokens
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

# Generous bounds: they only catch hangs (a request waiting for a function timeout it should not need).
NEXT_REQUEST_TIMEOUT_S = 20.0


def post(url: str, body: dict[str, Any], *, query: str = "", timeout: float = 30.0) -> Response:
    """A JSON POST to the function at `/`, with `?query` when given."""
    target = "/" + (f"?{query}" if query else "")
    return request(url, target, body=body, timeout=timeout)


def sse_events(response: Response) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, data object) pairs of an SSE body, in order."""
    events = []
    for block in response.body.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def request_id(response: Response) -> str:
    """The Lambda request id the emulator put on the reply (x-amzn-RequestId)."""
    value = response.header("x-amzn-RequestId")
    assert value, f"no x-amzn-RequestId on the reply: {response.headers}"
    return value


def invocation_record(emulator: EmulatorProcess, rid: str, *, timeout: float = 15.0) -> dict[str, Any]:
    """The handler's structured `"event":"invocation"` log line for request `rid`, parsed."""
    pattern = r'(\{"event":"invocation","requestId":"' + re.escape(rid) + r'".*\})'
    return dict(json.loads(emulator.wait_for_log(pattern, timeout=timeout).group(1)))


def health(emulator: EmulatorProcess) -> dict[str, Any]:
    reply = request(emulator.url, "/_emulator/health", method="GET")
    assert reply.status == 200
    return dict(reply.json())


def runtime_pid(emulator: EmulatorProcess) -> int | None:
    """The pid of sandbox 0's runtime process (None while there is none)."""
    pid = health(emulator)["sandboxes"][0]["pid"]
    return int(pid) if pid is not None else None


def wait_for_runtime(emulator: EmulatorProcess, *, other_than: int | None, timeout: float = 15.0) -> int:
    """Wait until sandbox 0 has a live runtime whose pid differs from `other_than`; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = runtime_pid(emulator)
        if pid is not None and pid != other_than:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no new runtime process after {timeout}s:\n{emulator.log()}")


def wait_until_busy(emulator: EmulatorProcess, *, timeout: float = 15.0) -> None:
    """Wait until sandbox 0's runtime has an invocation in hand."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(emulator)["sandboxes"][0]["busy"]:
            return
        time.sleep(0.02)
    raise AssertionError(f"the runtime never got the invocation:\n{emulator.log()}")


def group_alive(pgid: int) -> bool:
    """Whether any process of the group `pgid` (a runtime's pid: it leads its own group) still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def log_mark(emulator: EmulatorProcess) -> int:
    """Where the log is now, for `wait_for_log_after`."""
    return len(emulator.log())


def wait_for_log_after(
    emulator: EmulatorProcess, mark: int, pattern: str, *, timeout: float = 15.0
) -> re.Match[str]:
    """The first match of `pattern` in what was logged after `mark`, waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if match := re.search(pattern, emulator.log()[mark:]):
            return match
        time.sleep(0.05)
    raise AssertionError(f"log never matched {pattern!r} after mark {mark}:\n{emulator.log()[mark:]}")


def expect_full_reply(emulator: EmulatorProcess, prompt: str = "next request after a fault") -> Response:
    """The next request succeeds: every delta of the stand-in's deterministic reply, then `done`."""
    started = time.monotonic()
    reply = post(emulator.url, {"prompt": f"{prompt} @stub:tokens=6"}, query="format=sse")
    assert time.monotonic() - started < NEXT_REQUEST_TIMEOUT_S
    assert reply.status == 200, reply.body
    events = sse_events(reply)
    assert [data["text"] for name, data in events if name == "delta"] == reply_tokens(prompt, 6)
    assert [name for name, _ in events] == ["delta"] * 6 + ["done"]
    assert events[-1][1]["stopReason"] == "end_turn"
    return reply


def expect_json_error(response: Response, status: int, error_type: str | None = None) -> dict[str, Any]:
    """A JSON error reply with `status` and the {"error": {"type", "message"}} body; its error object."""
    assert response.status == status, (response.status, response.body)
    assert (response.header("content-type") or "").startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"type", "message"} and error["message"]
    if error_type is not None:
        assert error["type"] == error_type, error
    assert "Traceback" not in error["message"] and "/work/" not in error["message"]
    return dict(error)


def abandon_stream(url: str, body: dict[str, Any], *, query: str = "", min_bytes: int = 1) -> bytes:
    """Start a streamed request, read the head and at least `min_bytes` of body, then hang up."""
    parts = urlsplit(url)
    data = json.dumps(body).encode()
    target = "/" + (f"?{query}" if query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        sock.sendall(head + data)
        while b"\r\n\r\n" not in received or len(received.split(b"\r\n\r\n", 1)[1]) < min_bytes:
            piece = sock.recv(4096)
            assert piece, f"the server closed before {min_bytes} body bytes: {received!r}"
            received += piece
        # RST instead of FIN, so the emulator's next write fails at once, as when a browser tab closes.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return received
