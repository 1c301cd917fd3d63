"""`serve --max-concurrency N` (Lambda Managed Instances) end to end: HTTP clients -> the emulator -> one
raw-socket runtime process holding N GET /next at once (tests/emulator/lmi_runtime.py)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.config import ConfigError, parse_serve_args
from tests.support.emulator_process import EmulatorProcess, run_emulator
from tests.support.http_client import Response, request

LMI_RUNTIME = Path(__file__).resolve().parent / "lmi_runtime.py"
N = 4
TIMEOUT_S = 4


def lmi_args(*extra: str) -> list[str]:
    return ["--runtime-cmd", f"{sys.executable} {LMI_RUNTIME}", "--handler", "raw.handler", *extra]


@pytest.fixture(scope="module")
def lmi() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(lmi_args("--max-concurrency", str(N), "--timeout", str(TIMEOUT_S))) as emulator:
        yield emulator


def health(emulator: EmulatorProcess) -> dict[str, Any]:
    document: dict[str, Any] = request(emulator.url, "/_emulator/health", method="GET").json()
    return document


def wait_for(check: Callable[[], bool], what: str, emulator: EmulatorProcess) -> None:
    deadline = time.monotonic() + 15
    while not check():
        assert time.monotonic() < deadline, f"never {what}:\n{emulator.log()}"
        time.sleep(0.02)


def tagged(tag: str, chunks: int, delay_ms: int) -> dict[str, Any]:
    return {"scenario": "tagged", "tag": tag, "chunks": chunks, "delay_ms": delay_ms}


def full_body(tag: str, chunks: int) -> bytes:
    return "".join(f"{tag}-{index};" for index in range(chunks)).encode()


def in_parallel(url: str, bodies: list[dict[str, Any]], *, stagger_s: float = 0.0) -> list[Response]:
    """One client thread per body (each started `stagger_s` after the previous); replies in order."""
    replies: list[Response | None] = [None] * len(bodies)

    def call(index: int) -> None:
        replies[index] = request(url, "/", body=bodies[index], timeout=30)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
        time.sleep(stagger_s)
    for thread in threads:
        thread.join(timeout=60)
    assert all(reply is not None for reply in replies), "a client got no reply"
    return [reply for reply in replies if reply is not None]


def started_at(response: Response, index: int) -> float:
    return response.started + response.chunks[index][0]


def test_the_runtime_gets_the_managed_instances_environment(lmi: EmulatorProcess) -> None:
    assert request(lmi.url, "/", body={"scenario": "environ"}).json() == {
        "AWS_LAMBDA_MAX_CONCURRENCY": str(N),
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances",
    }


def test_health_counts_one_environment_of_n_slots(lmi: EmulatorProcess) -> None:
    wait_for(lambda: health(lmi)["sandboxes"][0]["waitingNext"] == N, f"{N} GET /next waiting", lmi)
    document = health(lmi)
    assert (document["concurrency"], document["environments"], document["maxConcurrency"]) == (N, 1, N)
    sandbox = document["sandboxes"][0]
    assert (sandbox["capacity"], sandbox["inFlight"], sandbox["busy"]) == (N, 0, False)
    assert isinstance(sandbox["pid"], int) and document["free"] == N


def test_n_streams_run_at_once_in_one_process(lmi: EmulatorProcess) -> None:
    before = health(lmi)["sandboxes"][0]
    replies = in_parallel(lmi.url, [tagged(f"s{index}", 6, 150) for index in range(N)])
    for index, reply in enumerate(replies):
        assert (reply.status, reply.body) == (200, full_body(f"s{index}", 6))
    # All N were in flight together: every first chunk arrived before any stream had finished.
    assert max(started_at(r, 0) for r in replies) < min(started_at(r, -1) for r in replies)
    after = health(lmi)["sandboxes"][0]
    assert after["pid"] == before["pid"]
    assert after["invocations"] == before["invocations"] + N
    for reply in replies:
        request_id = reply.header("x-amzn-RequestId")
        lmi.wait_for_log(rf"START RequestId: {request_id}")
        lmi.wait_for_log(rf"END RequestId: {request_id}")
        lmi.wait_for_log(rf"REPORT RequestId: {request_id}\tDuration: ")


def test_a_timeout_ends_only_its_invocation_and_a_late_answer_gets_410(lmi: EmulatorProcess) -> None:
    pid = health(lmi)["sandboxes"][0]["pid"]
    began = time.monotonic()
    late, cut, other = in_parallel(
        lmi.url,
        [
            {"scenario": "late", "sleep_ms": (TIMEOUT_S + 2) * 1000},  # answers 2 s after its timeout
            tagged("cut", 14, 500),  # streams across its timeout (6.5 s)
            tagged("other", 12, 250),  # starts 2 s later, streams 2.75 s: across the first timeout
        ],
        stagger_s=1.0,
    )
    assert (late.status, late.json()["error"]["type"]) == (502, "Sandbox.Timedout")
    assert late.json()["error"]["message"] == f"Task timed out after {TIMEOUT_S:.2f} seconds"
    assert cut.status == 200 and full_body("cut", 14).startswith(cut.body)
    assert len(cut.body) < len(full_body("cut", 14))
    assert (other.status, other.body) == (200, full_body("other", 12))
    assert started_at(other, -1) > began + TIMEOUT_S  # it was still streaming when `late` timed out
    for reply in (late, cut):
        request_id = reply.header("x-amzn-RequestId")
        lmi.wait_for_log(rf"ANSWER {request_id} 410 .*\"errorType\":\"InvokeTimeout\"")
        lmi.wait_for_log(rf"REPORT RequestId: {request_id}\t")
    assert health(lmi)["sandboxes"][0]["pid"] == pid
    assert request(lmi.url, "/", body=tagged("after", 2, 0)).body == full_body("after", 2)


def test_a_crash_fails_every_invocation_in_flight_and_a_new_runtime_serves(lmi: EmulatorProcess) -> None:
    pid = health(lmi)["sandboxes"][0]["pid"]
    streams: list[Response] = []

    def stream(tag: str) -> None:
        streams.append(request(lmi.url, "/", body=tagged(tag, 10, 200)))

    clients = [threading.Thread(target=stream, args=(tag,)) for tag in ("a", "b")]
    for client in clients:
        client.start()
    wait_for(lambda: health(lmi)["sandboxes"][0]["inFlight"] == 2, "two invocations in flight", lmi)
    crashed = request(lmi.url, "/", body={"scenario": "crash"})
    assert (crashed.status, crashed.json()["error"]["type"]) == (502, "Runtime.ExitError")
    for client in clients:
        client.join(timeout=30)
    assert len(streams) == 2
    for stream in streams:
        assert stream.status == 200 and len(stream.body) < len(full_body("a", 10))
        # Whichever the emulator sees first: the process exit, or the stream's connection closing.
        request_id = stream.header("x-amzn-RequestId")
        lmi.wait_for_log(rf"\[{request_id}\] (stream ended by Runtime\.ExitError|Runtime\.TruncatedResponse)")
    assert request(lmi.url, "/", body=tagged("fresh", 2, 0)).body == full_body("fresh", 2)
    assert health(lmi)["sandboxes"][0]["pid"] not in (pid, None)


def test_m_environments_of_n_each(emulator_factory: type[EmulatorProcess]) -> None:
    emulator = emulator_factory(lmi_args("--concurrency", "2", "--max-concurrency", "2"))
    document = health(emulator)
    assert (document["concurrency"], document["environments"]) == (4, 2)
    assert len({sandbox["pid"] for sandbox in document["sandboxes"]}) == 2
    replies = in_parallel(emulator.url, [tagged(f"m{index}", 6, 150) for index in range(4)])
    assert [reply.body for reply in replies] == [full_body(f"m{index}", 6) for index in range(4)]
    assert max(started_at(r, 0) for r in replies) < min(started_at(r, -1) for r in replies)
    assert [sandbox["invocations"] for sandbox in health(emulator)["sandboxes"]] == [2, 2]


def test_a_next_beyond_n_gets_no_invocation_while_n_are_unfinished(
    emulator_factory: type[EmulatorProcess],
) -> None:
    emulator = emulator_factory(lmi_args("--max-concurrency", "2", "--env", "RAW_RUNTIME_EXTRA_NEXT=1"))
    wait_for(lambda: health(emulator)["sandboxes"][0]["waitingNext"] == 3, "3 GET /next waiting", emulator)
    most = 0
    polling = threading.Event()

    def poll() -> None:
        nonlocal most
        while not polling.is_set():
            most = max(most, health(emulator)["sandboxes"][0]["inFlight"])
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        replies = in_parallel(emulator.url, [tagged(f"x{index}", 5, 200) for index in range(3)])
    finally:
        polling.set()
        poller.join(timeout=10)
    assert [reply.body for reply in replies] == [full_body(f"x{index}", 5) for index in range(3)]
    assert most == 2
    last_first = max(replies, key=lambda r: started_at(r, 0))
    assert started_at(last_first, 0) > min(started_at(r, -1) for r in replies if r is not last_first)


def test_a_timeout_during_init_resets_the_runtime(emulator_factory: type[EmulatorProcess]) -> None:
    never_ready = f"{sys.executable} -c 'import time; time.sleep(120)'"
    emulator = emulator_factory(["--runtime-cmd", never_ready, "--max-concurrency", "2", "--timeout", "1"])
    pid = health(emulator)["sandboxes"][0]["pid"]
    reply = request(emulator.url, "/", body={})
    assert (reply.status, reply.json()["error"]["type"]) == (502, "Sandbox.Timedout")
    assert health(emulator)["sandboxes"][0]["pid"] is None  # killed, as the classic timeout does
    again = threading.Thread(target=request, args=(emulator.url, "/"), kwargs={"body": {}})
    again.start()  # the next request starts a fresh runtime
    wait_for(lambda: health(emulator)["sandboxes"][0]["pid"] not in (pid, None), "a new runtime", emulator)
    again.join(timeout=30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-concurrency", "0"], "--max-concurrency must be at least 1"),
        (["--max-concurrency", "2", "--env", "AWS_LAMBDA_LOG_FORMAT=Text"], "only support JSON logs"),
        (["--max-concurrency", "2", "--env", "AWS_LAMBDA_MAX_CONCURRENCY=3"], "contradicts"),
    ],
)
def test_max_concurrency_options_are_checked(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_serve_args(args)


def test_a_bad_max_concurrency_is_a_one_line_cli_error() -> None:
    result = run_emulator("serve", "--max-concurrency", "-1")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("error: --max-concurrency must be at least 1")


def test_concurrency_and_max_concurrency_combine() -> None:
    args = ["--concurrency", "2", "--max-concurrency", "3", "--env", "AWS_LAMBDA_LOG_FORMAT=json"]
    config = parse_serve_args(args)
    assert (config.concurrency, config.max_concurrency) == (2, 3)
    assert parse_serve_args([]).max_concurrency is None
