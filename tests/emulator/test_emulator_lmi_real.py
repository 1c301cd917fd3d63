"""`serve --max-concurrency 32` with the real `runtime/bootstrap` (forked workers), the real Bedrock
handler and the stand-in: many streams at once through one environment, each with its own bytes."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.stub_replies import reply_tokens
from tests.support.emulator_process import REPO, EmulatorProcess
from tests.support.http_client import Response, request

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)

N = 32  # 32 forked workers fit this 2-core machine: 32 streams take ~2.5 s where one takes ~1.1 s


@pytest.fixture(scope="module")
def lmi() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(["--max-concurrency", str(N), "--timeout", "15"]) as emulator:
        wait_for_workers(emulator, lambda pids: len(pids) == N)
        yield emulator


def sandbox(emulator: EmulatorProcess) -> dict[str, Any]:
    state: dict[str, Any] = request(emulator.url, "/_emulator/health", method="GET").json()["sandboxes"][0]
    return state


def workers(emulator: EmulatorProcess) -> set[int]:
    pid = sandbox(emulator)["pid"]
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def wait_for_workers(emulator: EmulatorProcess, ready: Any) -> set[int]:
    """The runtime's worker pids once `ready(pids)` holds and every worker is waiting in GET /next."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = workers(emulator)
        if ready(pids) and sandbox(emulator)["waitingNext"] >= N:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"workers never ready ({len(workers(emulator))}):\n{emulator.log()}")


def chat(emulator: EmulatorProcess, prompts: list[str]) -> list[Response]:
    """One client per prompt, all at once; the text replies in prompt order."""
    replies: list[Response | None] = [None] * len(prompts)

    def call(index: int) -> None:
        body = {"prompt": prompts[index]}
        replies[index] = request(emulator.url, "/?format=text", body=body, timeout=30)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(reply is not None for reply in replies), "a client got no reply"
    return [reply for reply in replies if reply is not None]


def expected(text: str, tokens: int) -> bytes:
    """The stand-in's deterministic reply to `text` (the prompt without its directives)."""
    return "".join(reply_tokens(text, tokens)).encode()


def test_slow_streams_at_once_take_about_as_long_as_one(lmi: EmulatorProcess) -> None:
    slow = "@stub:tokens=10 @stub:delay-ms=100"  # ~1 s of pauses per stream
    started = time.monotonic()
    alone = chat(lmi, [f"a stream alone {slow}"])[0]
    one_s = time.monotonic() - started
    assert alone.body == expected("a stream alone", 10)
    count = 8
    started = time.monotonic()
    replies = chat(lmi, [f"stream number {index} {slow}" for index in range(count)])
    together_s = time.monotonic() - started
    for index, reply in enumerate(replies):
        assert (reply.status, reply.body) == (200, expected(f"stream number {index}", 10))
    assert together_s < count * one_s / 2, f"{count} streams took {together_s:.2f} s, one alone {one_s:.2f} s"


def test_32_parallel_clients_each_get_their_own_reply(lmi: EmulatorProcess) -> None:
    before = sandbox(lmi)
    texts = [f"client {index} asks about topic {index * 7}" for index in range(N)]
    tokens = [4 + index % 9 for index in range(N)]
    pairs = list(zip(texts, tokens, strict=True))
    replies = chat(lmi, [f"{text} @stub:tokens={count} @stub:delay-ms=30" for text, count in pairs])
    for (text, count), reply in zip(pairs, replies, strict=True):
        assert (reply.status, reply.body) == (200, expected(text, count)), text
    after = sandbox(lmi)
    assert after["pid"] == before["pid"] and len(workers(lmi)) == N
    assert after["invocations"] == before["invocations"] + N
    log = lmi.log()
    for reply in replies:
        request_id = reply.header("x-amzn-RequestId")
        assert log.count(f"START RequestId: {request_id} ") == 1
        lmi.wait_for_log(rf"REPORT RequestId: {request_id}\t")


def test_the_runtime_logs_json_lines_with_the_request_id(lmi: EmulatorProcess) -> None:
    reply = chat(lmi, ["log this one @stub:tokens=3"])[0]
    request_id = reply.header("x-amzn-RequestId")
    lmi.wait_for_log(rf'"requestId": "{request_id}"')
    # The runtime's JSON log records, not the handler's metrics documents (raw EMF lines on stdout).
    lines = [
        line
        for line in lmi.log().splitlines()
        if line.startswith("{") and not line.startswith('{"_aws"') and request_id in line
    ]
    records = [json.loads(line) for line in lines]
    assert records and all(record["requestId"] == request_id and record["level"] for record in records)


def test_a_replaced_worker_loses_no_invocation(lmi: EmulatorProcess) -> None:
    pid = sandbox(lmi)["pid"]
    victim = min(workers(lmi))
    os.kill(victim, signal.SIGKILL)  # while it waits in GET /next; its parent starts another
    wait_for_workers(lmi, lambda pids: victim not in pids and len(pids) == N)
    texts = [f"after the replacement {index}" for index in range(N)]
    replies = chat(lmi, [f"{text} @stub:tokens=5 @stub:delay-ms=20" for text in texts])
    assert [reply.body for reply in replies] == [expected(text, 5) for text in texts]
    assert sandbox(lmi)["pid"] == pid
