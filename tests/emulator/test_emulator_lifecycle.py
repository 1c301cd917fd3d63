"""Concurrency, throttling, BUFFERED mode and shutdown of `emulator serve`.

Timeouts and init errors are rows of the fault matrix (tests/reliability/test_faults_function.py), with
the real runtime.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.emulator.conftest import raw_runtime_args
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_four_overlapping_streams_with_concurrency_4(emulator_factory: type[EmulatorProcess]) -> None:
    emulator = emulator_factory(raw_runtime_args("--concurrency", "4"))
    results: list[tuple[float, float, Response]] = []
    lock = threading.Lock()

    def call() -> None:
        started = time.monotonic()
        response = request(emulator.url, "/", body={"scenario": "plain", "chunks": 6, "delay_ms": 150})
        with lock:
            results.append((started + response.chunks[0][0], started + response.chunks[-1][0], response))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4
    assert all(r.body == b"".join(f"chunk-{i};".encode() for i in range(6)) for _, _, r in results)
    # All four were in flight at once: every first chunk arrived before any stream finished.
    assert max(first for first, _, _ in results) < min(last for _, last, _ in results)
    pids = {s["pid"] for s in request(emulator.url, "/_emulator/health", method="GET").json()["sandboxes"]}
    assert len(pids) == 4


def test_queue_bound_gives_429(emulator_factory: type[EmulatorProcess]) -> None:
    emulator = emulator_factory(raw_runtime_args("--max-queue", "0"))
    slow: list[Response] = []
    holder = threading.Thread(
        target=lambda: slow.append(
            request(emulator.url, "/", body={"scenario": "plain", "chunks": 5, "delay_ms": 300})
        )
    )
    holder.start()
    emulator.wait_for_log(r"START RequestId")
    throttled = request(emulator.url, "/", body={"scenario": "plain"})
    holder.join(timeout=30)
    assert throttled.status == 429
    assert throttled.json()["error"]["type"] == "TooManyRequestsException"
    assert slow and slow[0].status == 200


def test_buffered_mode(emulator_factory: type[EmulatorProcess]) -> None:
    emulator = emulator_factory(raw_runtime_args("--invoke-mode", "BUFFERED"))
    spec = {
        "scenario": "stream",
        "chunks": 3,
        "delay_ms": 50,
        "status": 201,
        "headers": {"content-type": "text/plain"},
    }
    streamed = request(emulator.url, "/", body=spec)
    assert (streamed.status, streamed.header("content-type")) == (201, "text/plain")
    assert streamed.header("Transfer-Encoding") is None
    assert streamed.header("Content-Length") == str(len(streamed.body))
    assert streamed.body == b"chunk-0;chunk-1;chunk-2;"
    shaped = request(
        emulator.url,
        "/",
        body={"scenario": "buffered", "payload": {"statusCode": 404, "body": "gone", "headers": {}}},
    )
    assert (shaped.status, shaped.body, shaped.header("content-type")) == (404, b"gone", "application/json")
    plain = request(emulator.url, "/", body={"scenario": "buffered", "payload": {"answer": 42}})
    assert (plain.status, plain.json(), plain.header("content-type")) == (
        200,
        {"answer": 42},
        "application/json",
    )
    failed = request(emulator.url, "/", body={"scenario": "stream", "chunks": 1, "fail": True})
    assert (failed.status, failed.json()["error"]["type"]) == (502, "Function.Boom")


def test_sigterm_stops_every_child(emulator_factory: type[EmulatorProcess]) -> None:
    emulator = emulator_factory(raw_runtime_args("--concurrency", "2"))
    pids = [s["pid"] for s in request(emulator.url, "/_emulator/health", method="GET").json()["sandboxes"]]
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    hanging: list[Response] = []
    client = threading.Thread(
        target=lambda: hanging.append(request(emulator.url, "/", body={"scenario": "hang"}))
    )
    client.start()
    emulator.wait_for_log(r"START RequestId")
    assert emulator.stop() == 0
    client.join(timeout=10)
    assert not any(_alive(pid) or _group_alive(pid) for pid in pids)
