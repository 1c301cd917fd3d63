"""Fuzzing (hypothesis): arbitrary requests through the real emulator, runtime, handler and stand-in, and
arbitrary events straight into the real runtime; every reply is a stream or a JSON error, the runtime
process never dies, and no reply takes longer than the configured bounds.

Sizes: FUZZ_EXAMPLES examples per test (default 150, a CI run); `make fuzz` sets thousands. Without
FUZZ_SEED the run is derandomized (reproducible CI); FUZZ_SEED=N replays the random run `make fuzz`
printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import event, example, given
from streaming_runtime import wire

from emulator.config import EmulatorConfig
from emulator.invocations import BodyChunk, FunctionFailed, ResponseEnd, ResponseStart
from emulator.local_lambda import Emulator
from emulator.relay import next_event
from tests.reliability import fuzz_strategies as fs
from tests.reliability.fuzz_target import (
    EXAMPLES,
    FUNCTION_TIMEOUT_S,
    SLACK_S,
    EmulatorTarget,
    fuzz_settings,
    fuzzed_emulator,
)
from tests.reliability.raw_http import RawReply, build_request, exchange
from tests.reliability.stream_checks import (
    EMULATOR_ERROR_TYPES,
    HANDLER_ERROR_TYPES,
    decode_stream,
    error_type_of,
)
from tests.support.emulator_process import EmulatorProcess, hermetic_env

# Fewer botocore retries: a throttled or unavailable stand-in answers at once instead of backing off.
FUNCTION_ENV = {"BEDROCK_MAX_ATTEMPTS": "1", "AWS_LAMBDA_LOG_LEVEL": "WARN"}

# Huge generated bodies make hypothesis warn about their repr; the size is the point.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


# --- through the Function URL (one emulator subprocess for the module) -----------------------------


class Target(EmulatorTarget):
    """The emulator under test, and the outcomes of test_arbitrary_requests_..."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        super().__init__(emulator)
        self.counts: dict[str, int] = {}

    def send(self, case: fs.HttpCase) -> RawReply:
        data = build_request(
            case.method, case.target, list(case.headers), case.body, host=self.host, chunked=case.chunked
        )
        return exchange(self.address, data, head=case.method == "HEAD", timeout=FUNCTION_TIMEOUT_S + SLACK_S)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with fuzzed_emulator(FUNCTION_ENV) as running:
        yield Target(running)


def check_reply(target: Target, case: fs.HttpCase, reply: RawReply, invocations_before: int) -> str:
    """The fuzz properties for one request (see the module docstring); returns the kind of outcome."""
    assert reply.status is not None, f"no status line for {case.describe()}"
    assert reply.elapsed <= FUNCTION_TIMEOUT_S + SLACK_S, f"{reply.elapsed:.1f}s for {case.describe()}"
    pid, invocations = target.sandbox()
    assert pid == target.pid, f"runtime pid changed {target.pid} -> {pid} after {case.describe()}"
    if 200 <= reply.status < 300:
        assert reply.framing == "chunked" and reply.complete, f"stream not ended properly: {reply.framing}"
        media_type = (reply.header("Content-Type") or "").split(";")[0]
        fmt = {"text/event-stream": "sse", "application/x-ndjson": "ndjson"}.get(media_type, "text")
        assert media_type in ("text/event-stream", "application/x-ndjson", "text/plain"), media_type
        stream = decode_stream(fmt, reply.body)
        assert fmt == "text" or stream.ending in ("done", "error"), "stream without a final event"
        assert invocations == invocations_before + 1
        event(f"{reply.status} {fmt} stream ending {stream.ending or 'plain'}")
        return "stream"
    error_type = error_type_of(reply, head=case.method == "HEAD")
    event(f"{reply.status} {error_type or 'HEAD'}")
    if case.method == "HEAD":
        assert invocations - invocations_before in (0, 1)
        return "head"
    if error_type in HANDLER_ERROR_TYPES:
        assert invocations == invocations_before + 1, f"{error_type} without an invocation"
        return "function-error"
    assert error_type in EMULATOR_ERROR_TYPES, f"unexpected error type {error_type!r} ({reply.body[:300]!r})"
    assert invocations == invocations_before, f"{error_type} after an invocation"
    return "emulator-error"


# Regressions found by this fuzzer, always replayed: JSON nested past the parser's recursion limit (was a
# 502 RecursionError), a lone surrogate escape in the prompt (crashed the stand-in: 502), an unknown
# method (was http.server's HTML 501).
@fuzz_settings(EXAMPLES)
@given(case=fs.http_cases())
@example(
    case=fs.HttpCase("POST", "/", (("Content-Type", "application/json"),), b"[" * 50_000 + b"]" * 50_000)
)
@example(case=fs.HttpCase("POST", "/", (), b'{"prompt": "\\ud800 lone surrogate"}'))
@example(case=fs.HttpCase("BREW", "/", (), b""))
def test_arbitrary_requests_get_a_stream_or_a_json_error(target: Target, case: fs.HttpCase) -> None:
    _, before = target.sandbox()
    outcome = check_reply(target, case, target.send(case), before)
    target.counts[outcome] = target.counts.get(outcome, 0) + 1


@fuzz_settings(EXAMPLES)
@given(case=fs.chat_cases())
def test_valid_chat_requests_get_the_stand_ins_exact_reply(target: Target, case: fs.HttpCase) -> None:
    _, before = target.sandbox()
    reply = target.send(case)
    check_reply(target, case, reply, before)
    expected = case.expected
    assert expected is not None
    if expected.status != 200:
        assert (reply.status, error_type_of(reply)) == (expected.status, expected.error_type)
        return
    assert reply.status == 200
    stream = decode_stream(expected.fmt, reply.body)
    if expected.ends_in_error:
        assert stream.text == expected.text
        assert stream.ending == ("error" if expected.fmt != "text" else "")
    else:
        assert stream.text == expected.text
        assert stream.ending == ("done" if expected.fmt != "text" else "")


@fuzz_settings(max(20, EXAMPLES // 2))
@given(data=fs.malformed_http())
@example(data=b"GARBAGE\r\n\r\n")  # was http.server's HTML error page
@example(data=b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")  # was a reset instead of the 414
def test_malformed_http_gets_a_json_400_class_error(target: Target, data: bytes) -> None:
    _, before = target.sandbox()
    reply = exchange(target.address, data, half_close=True, timeout=FUNCTION_TIMEOUT_S + SLACK_S)
    assert reply.elapsed <= FUNCTION_TIMEOUT_S + SLACK_S
    event(f"{reply.status} {reply.body[:40]!r}" if reply.status is None else f"{reply.status}")
    if not data.split(b"\n", 1)[0].decode("latin-1").split():  # whitespace as http.server's str.split()
        # A blank request line is no request at all: http.server closes without a reply (RFC 9112 2.2).
        assert (reply.status, reply.body) == (None, b"")
    elif reply.status is None:  # a request line without a version is HTTP/0.9: the bare body, then close
        document = json.loads(reply.body)
        assert set(document["error"]) == {"type", "message"}
    else:
        assert reply.status >= 400, f"{reply.status} for {data[:80]!r}"
        assert error_type_of(reply) in EMULATOR_ERROR_TYPES | HANDLER_ERROR_TYPES
    pid, invocations = target.sandbox()
    assert pid == target.pid
    assert invocations - before in (0, 1)  # a header line without a colon still reaches the function


def test_the_fuzz_run_reached_every_outcome(target: Target) -> None:
    """Runs after the arbitrary-request fuzz (file order): its strategies must reach every outcome."""
    if not target.counts:
        pytest.skip("run together with test_arbitrary_requests_get_a_stream_or_a_json_error")
    assert {"stream", "function-error", "emulator-error"} <= set(target.counts), target.counts


# --- events straight into the runtime (the emulator in-process, the runtime and handler real) ------


@pytest.fixture(scope="module")
def sandbox_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        port=0, timeout=FUNCTION_TIMEOUT_S, env=tuple(FUNCTION_ENV.items()), log_level="WARNING"
    )
    with Emulator(config, environ=hermetic_env()) as emulator:
        yield emulator


def invoke_raw(emulator: Emulator, payload: bytes) -> tuple[list[object], float]:
    """Hand `payload` to the runtime as the event; every response event, and the seconds it took."""
    started = time.monotonic()
    sandbox = emulator.pool.acquire(timeout=FUNCTION_TIMEOUT_S)
    invocation = sandbox.invoke(payload)
    events: list[object] = []
    while True:
        event = next_event(invocation)
        events.append(event)
        if isinstance(event, ResponseEnd | FunctionFailed):
            return events, time.monotonic() - started


def is_direct(event: object) -> bool:
    """Whether the handler reads an event as a direct invocation: neither a REST API event (`httpMethod`),
    nor a Function URL event (an object `requestContext.http`), nor API Gateway's completion notice."""
    if not isinstance(event, dict):
        return True
    context = event.get("requestContext")
    function_url = isinstance(context, dict) and isinstance(context.get("http"), dict)
    return not ("httpMethod" in event or function_url or "invokeCompletionStatus" in event)


@fuzz_settings(EXAMPLES)
@given(case=fs.events)
@example(case=fs.EventCase(b"[" * 50_000 + b"]" * 50_000, is_json=False, label="deep"))  # was RecursionError
def test_arbitrary_events_get_a_response_and_the_runtime_survives(
    sandbox_emulator: Emulator, case: fs.EventCase
) -> None:
    sandbox = sandbox_emulator.pool.sandboxes[0]
    process = sandbox.ensure_process()
    events, elapsed = invoke_raw(sandbox_emulator, case.payload)
    assert elapsed <= FUNCTION_TIMEOUT_S + SLACK_S
    assert sandbox.process is process and not process.exited, f"runtime died on {case.label}"
    if not case.is_json:
        event(f"{case.label}: /error {getattr(events[0], 'error_type', '?')}")
        assert len(events) == 1 and isinstance(events[0], FunctionFailed), events
        assert events[0].error_type == "Runtime.UnmarshalError", events[0]
        return
    if is_direct(json.loads(case.payload)):
        # No HTTP event (a JSON value that is no object, a requestContext without its http object): a
        # direct invocation, whose refusal goes to /error under the handler's error type, no stack trace.
        event(f"{case.label}: direct {getattr(events[0], 'error_type', 'stream')}")
        if isinstance(events[0], FunctionFailed):
            assert len(events) == 1 and events[0].error_type in HANDLER_ERROR_TYPES, events
            assert events[0].payload["stackTrace"] == [], events[0]
        else:
            assert isinstance(events[0], ResponseStart), events
            assert events[0].content_type != wire.CONTENT_TYPE_HTTP_INTEGRATION, events
        return
    # An HTTP event never goes to /error: every handler failure before the first byte is a status.
    assert len(events) >= 2 and not isinstance(events[0], FunctionFailed), events
    start, *chunks, end = events
    assert isinstance(start, ResponseStart) and start.content_type == wire.CONTENT_TYPE_HTTP_INTEGRATION, (
        events
    )
    assert all(isinstance(chunk, BodyChunk) for chunk in chunks) and isinstance(end, ResponseEnd), events
    split = wire.split_prelude(b"".join(chunk.data for chunk in chunks if isinstance(chunk, BodyChunk)))
    assert split is not None
    prelude, body = split
    content_type = prelude.headers.get("content-type", "")
    if prelude.status_code != 200:
        assert content_type == "application/json" and end.error is None
        document = json.loads(body)
        event(f"{case.label}: {prelude.status_code} {document['error']['type']}")
        assert document["error"]["type"] in HANDLER_ERROR_TYPES, document
        assert isinstance(document["error"]["message"], str)
        assert case.expected is None or (prelude.status_code, document["error"]["type"]) == (
            case.expected.status,
            case.expected.error_type,
        ), (case.label, document)
        return
    fmt = {"text/event-stream": "sse", "application/x-ndjson": "ndjson"}.get(
        content_type.split(";")[0], "text"
    )
    stream = decode_stream(fmt, body)
    event(f"{case.label}: 200 {fmt} stream ending {stream.ending or 'plain'}")
    if case.expected is not None:
        assert case.expected.status == 200 and stream.text == case.expected.text, case.label
        ending = "error" if case.expected.ends_in_error else "done"
        assert stream.ending == (ending if fmt != "text" else "")
        assert (
            end.error is not None
        ) == case.expected.ends_in_error  # error trailers on a mid-stream failure
