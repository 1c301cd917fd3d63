"""Fault matrix, Bedrock side: stand-in failures, a killed runtime, a vanished client, Runtime API 500s
and the size cap, each through the real emulator, runtime, handler and stand-in; the next request works.

One emulator serves every row (each row leaves it healthy, which its last assertion proves): a short
Bedrock read timeout, one attempt, a 4 KB response cap and `--fault-injection`.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.model import create_bedrock_client
from botocore.exceptions import ClientError

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens
from tests.reliability.fault_support import (
    abandon_stream,
    expect_full_reply,
    expect_json_error,
    invocation_record,
    log_mark,
    post,
    request_id,
    runtime_pid,
    sse_events,
    wait_for_log_after,
    wait_for_runtime,
    wait_until_busy,
)
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

SIZE_CAP = 4096
FAULTS = "/_emulator/faults"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    args = [
        "--timeout",
        "30",
        "--fault-injection",
        "--env",
        "BEDROCK_READ_TIMEOUT_S=1.5",
        "--env",
        "BEDROCK_MAX_ATTEMPTS=1",
        "--env",
        f"_STREAMING_RUNTIME_MAX_RESPONSE_BYTES={SIZE_CAP}",
    ]
    with EmulatorProcess(args) as running:
        yield running


def arm(emulator: EmulatorProcess, rule: dict[str, object]) -> None:
    reply = request(emulator.url, FAULTS, body={"runtimeApi": rule})
    assert reply.status == 200, reply.body
    assert reply.json()["runtimeApi"] == [{"count": 1, **rule}]


# --- Bedrock fails before the first byte -----------------------------------------------------------


@pytest.mark.parametrize(
    ("directive", "status", "error_type"),
    [
        ("@stub:throttle", 429, "throttled"),
        ("@stub:access-denied", 502, "bedrock_access_denied"),
        ("@stub:not-found", 502, "bedrock_model_not_found"),
        ("@stub:unavailable", 503, "bedrock_unavailable"),
        ("@stub:model-timeout", 504, "bedrock_timeout"),
        # The stand-in never answers: botocore's read timeout (1.5 s here) fires before any byte.
        ("@stub:hang-ms=3000", 504, "bedrock_timeout"),
        # The stream starts but fails before its first text delta: nothing was sent, so still a status,
        # with the error type the in-band event would carry.
        ("@stub:error-after=0", 502, "modelStreamErrorException"),
        ("@stub:drop-after=0", 502, "bedrock_stream_interrupted"),
        ("@stub:first-token-ms=3000", 504, "bedrock_timeout"),
    ],
)
def test_bedrock_failure_before_the_first_byte_is_a_json_status(
    emulator: EmulatorProcess, directive: str, status: int, error_type: str
) -> None:
    pid = runtime_pid(emulator)
    reply = post(emulator.url, {"prompt": f"pre-stream {directive}"}, query="format=sse")
    expect_json_error(reply, status, error_type)
    assert reply.header("content-type") == "application/json"  # exactly: the handler's own error reply
    record = invocation_record(emulator, request_id(reply))
    assert (record["status"], record["errorType"], record["outputTokens"]) == (status, error_type, 0)
    expect_full_reply(emulator)
    assert runtime_pid(emulator) == pid  # handled inside the function: no restart


@pytest.mark.parametrize("attempts", [1, 2])
def test_bedrock_max_attempts_is_the_number_of_calls_bedrock_sees(
    monkeypatch: pytest.MonkeyPatch, attempts: int
) -> None:
    """BEDROCK_MAX_ATTEMPTS counts every call (botocore's own `max_attempts` key would add one more)."""
    with BedrockStub.start() as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stub.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFAULTMATRIX")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fault-matrix")
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        config = HandlerConfig.from_env({"AWS_REGION": "us-east-1", "BEDROCK_MAX_ATTEMPTS": str(attempts)})
        client = create_bedrock_client(config)
        message = {"role": "user", "content": [{"text": "retry count @stub:throttle"}]}
        with pytest.raises(ClientError, match="ThrottlingException"):
            client.converse_stream(modelId=config.default_model_id, messages=[message])
        assert len(stub.requests) == attempts


# --- Bedrock fails after the first byte ------------------------------------------------------------


@pytest.mark.parametrize(
    ("directives", "deltas", "error_type"),
    [
        ("@stub:error-after=3", 3, "modelStreamErrorException"),
        ("@stub:drop-after=3", 3, "bedrock_stream_interrupted"),
        # The stand-in stalls past the read timeout after the first delta: in-band error, not 504.
        ("@stub:tokens=4 @stub:delay-ms=3000", 1, "bedrock_timeout"),
    ],
)
def test_bedrock_failure_after_the_first_byte_is_an_sse_error_event(
    emulator: EmulatorProcess, directives: str, deltas: int, error_type: str
) -> None:
    prompt = "mid-stream failure"
    pid = runtime_pid(emulator)
    reply = post(emulator.url, {"prompt": f"{prompt} {directives}"}, query="format=sse")
    assert reply.status == 200
    events = sse_events(reply)
    assert [name for name, _ in events] == ["delta"] * deltas + ["error"]
    assert [data["text"] for _, data in events[:-1]] == reply_tokens(prompt, 12)[:deltas]
    assert set(events[-1][1]) == {"type", "message"}
    assert events[-1][1]["type"] == error_type and events[-1][1]["message"]
    rid = request_id(reply)
    record = invocation_record(emulator, rid)
    assert (record["status"], record["stopReason"], record["errorType"]) == (200, "error", error_type)
    # The runtime ended the body with error trailers; the emulator logs them (clients never see them).
    trailer = emulator.wait_for_log(rf"\[{rid}\] mid-stream error (\S+): (.*)")
    assert trailer.group(1) == "StreamInterruptedError" and error_type in trailer.group(2)
    expect_full_reply(emulator)
    assert runtime_pid(emulator) == pid


# --- the runtime process dies ----------------------------------------------------------------------


def test_runtime_killed_mid_stream_ends_the_stream_and_is_restarted(emulator: EmulatorProcess) -> None:
    before = wait_for_runtime(emulator, other_than=None)
    mark = log_mark(emulator)
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(
            post, emulator.url, {"prompt": "killed @stub:delay-ms=100 @stub:tokens=60"}, query="format=sse"
        )
        wait_until_busy(emulator)
        time.sleep(1.0)  # several deltas are out
        os.kill(before, signal.SIGKILL)
        reply = slow.result(timeout=30)
    events = sse_events(reply)  # parses: the body ended on an event boundary with a proper last chunk
    assert reply.status == 200 and 1 <= len(events) < 60
    assert {name for name, _ in events} == {"delta"}  # no `done`: the client can tell it was cut off
    rid = request_id(reply)
    wait_for_log_after(emulator, mark, r"sandbox 0: runtime exited \(signal: Killed\)")
    emulator.wait_for_log(rf"\[{rid}\] (stream ended by Runtime\.ExitError|Runtime\.TruncatedResponse)")
    expect_full_reply(emulator)
    assert wait_for_runtime(emulator, other_than=before) != before


# --- the client goes away --------------------------------------------------------------------------


def test_client_disconnect_mid_stream_lets_the_runtime_finish_and_serve_the_next(
    emulator: EmulatorProcess,
) -> None:
    pid = wait_for_runtime(emulator, other_than=None)
    head = abandon_stream(
        emulator.url, {"prompt": "abandoned @stub:delay-ms=50 @stub:tokens=30"}, query="format=sse"
    )
    rid_match = re.search(rb"x-amzn-RequestId: (\S+)", head, re.IGNORECASE)
    assert rid_match is not None
    rid = rid_match.group(1).decode()
    emulator.wait_for_log(rf"\[{rid}\] client disconnected; draining")
    expect_full_reply(emulator)  # waits at most for the rest of the abandoned stream, not a timeout
    record = invocation_record(emulator, rid)
    assert (record["status"], record["stopReason"], record["outputTokens"]) == (200, "end_turn", 30)
    assert runtime_pid(emulator) == pid  # the same process: nothing was killed or restarted
    assert "Task timed out" not in emulator.log()


# --- the Runtime API answers 500 -------------------------------------------------------------------


def test_runtime_api_500_on_next_exits_the_runtime_and_it_is_restarted(emulator: EmulatorProcess) -> None:
    before = wait_for_runtime(emulator, other_than=None)
    mark = log_mark(emulator)
    arm(emulator, {"status": 500, "path": "next"})
    # The runtime is already waiting in GET /next, so this request is served; its next poll gets 500.
    expect_full_reply(emulator, "served before the fault")
    wait_for_log_after(emulator, mark, r"fault injected: Runtime API GET \S+/invocation/next answered 500")
    wait_for_log_after(emulator, mark, r"Stopping: .*500")
    wait_for_log_after(emulator, mark, r"sandbox 0: runtime exited \(exit status 3\)")
    expect_full_reply(emulator)  # a fresh runtime (a cold start) serves the next request
    assert wait_for_runtime(emulator, other_than=before) != before
    assert request(emulator.url, FAULTS, method="GET").json() == {"runtimeApi": []}  # used up


def test_runtime_api_500_on_response_fails_the_request_and_the_runtime_restarts(
    emulator: EmulatorProcess,
) -> None:
    before = wait_for_runtime(emulator, other_than=None)
    mark = log_mark(emulator)
    arm(emulator, {"status": 500, "path": "response"})
    reply = post(emulator.url, {"prompt": "answer refused @stub:tokens=3"}, query="format=sse")
    error = expect_json_error(reply, 502, "Runtime.ExitError")
    assert "exit status 3" in error["message"]
    wait_for_log_after(emulator, mark, r"fault injected: Runtime API POST \S+/response answered 500")
    wait_for_log_after(emulator, mark, r"sandbox 0: runtime exited \(exit status 3\)")
    expect_full_reply(emulator)
    assert wait_for_runtime(emulator, other_than=before) != before


# --- the response is over the size cap -------------------------------------------------------------


def test_response_over_the_size_cap_ends_the_stream_with_an_error_trailer(emulator: EmulatorProcess) -> None:
    prompt = "a very long answer"
    pid = runtime_pid(emulator)
    reply = post(emulator.url, {"prompt": f"{prompt} @stub:tokens=1000"}, query="format=text")
    full = "".join(reply_tokens(prompt, 1000)).encode()
    assert reply.status == 200 and len(full) > SIZE_CAP
    assert 0 < len(reply.body) <= SIZE_CAP and full.startswith(reply.body)
    rid = request_id(reply)
    emulator.wait_for_log(rf"Function\.ResponseSizeTooLarge: Response stream reached the limit of {SIZE_CAP}")
    emulator.wait_for_log(rf"\[{rid}\] mid-stream error Function\.ResponseSizeTooLarge")
    record = invocation_record(emulator, rid)
    assert (record["status"], record["stopReason"]) == (200, "cancelled")
    expect_full_reply(emulator)
    assert runtime_pid(emulator) == pid


# --- the fault-injection endpoint itself -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"runtimeApi": {"status": 500}, "other": 1}',
        b'{"runtimeApi": 500}',
        b'{"runtimeApi": {"count": 1}}',
        b'{"runtimeApi": {"status": 200}}',
        b'{"runtimeApi": {"status": true}}',
        b'{"runtimeApi": {"status": 500, "count": 0}}',
        b'{"runtimeApi": {"status": 500, "path": "elsewhere"}}',
        b'{"runtimeApi": {"status": 500, "when": "now"}}',
    ],
)
def test_fault_endpoint_rejects_bad_bodies(emulator: EmulatorProcess, body: bytes) -> None:
    reply = request(emulator.url, FAULTS, body=body, headers={"content-type": "application/json"})
    expect_json_error(reply, 400, "InvalidFault")
    assert request(emulator.url, FAULTS, method="GET").json() == {"runtimeApi": []}


def test_fault_endpoint_shows_and_clears_armed_faults(emulator: EmulatorProcess) -> None:
    body = {"runtimeApi": {"status": 503, "count": 2, "path": "error"}}
    assert request(emulator.url, FAULTS, body=body).status == 200
    shown = request(emulator.url, FAULTS, method="GET").json()
    assert shown == {"runtimeApi": [{"path": "error", "status": 503, "count": 2}]}
    cleared = request(emulator.url, FAULTS, method="DELETE")
    assert (cleared.status, cleared.json()) == (200, {"runtimeApi": []})
    expect_json_error(request(emulator.url, FAULTS, method="PUT"), 405)
