"""Fuzzing (hypothesis) direct invocations: arbitrary direct events (JSON values of every type, huge and
deeply nested ones, random keys, wrong `api`/`format` values, native and OpenAI bodies) handed to the REAL
runtime/bootstrap subprocess running the Bedrock handler against the stand-in (the emulator in-process
only queues the events). Every event gets either a raw stream (no prelude, a direct Content-Type, error
trailers of a known type after a mid-stream failure) or one /error report of a known type with an empty
stack trace; valid events get the stand-in's exact reply; the runtime process never dies and serves the
next request at once; nothing takes longer than the configured bounds.

Sizes: FUZZ_EXAMPLES examples (default 150, a CI run); `make fuzz` sets thousands. Without FUZZ_SEED the
run is derandomized (reproducible CI); FUZZ_SEED=N replays the random run `make fuzz` printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, example, given
from streaming_runtime import wire

from emulator.config import EmulatorConfig
from emulator.invocations import BodyChunk, FunctionFailed, ResponseEnd, ResponseStart
from emulator.local_lambda import Emulator
from emulator.relay import next_event
from emulator.sandbox import Sandbox
from emulator.stub_replies import reply_tokens
from tests.reliability import direct_strategies as ds
from tests.reliability import fuzz_strategies as fs
from tests.reliability import openai_strategies as ost
from tests.reliability.fuzz_target import EXAMPLES, FUNCTION_TIMEOUT_S, SLACK_S, fuzz_settings
from tests.reliability.stream_checks import HANDLER_ERROR_TYPES, decode_stream
from tests.support.emulator_process import hermetic_env

FUNCTION_ENV = {
    "BEDROCK_MAX_ATTEMPTS": "1",
    "AWS_LAMBDA_LOG_LEVEL": "WARN",
    "MODEL_ALIASES": ",".join(f"{alias}={model}" for alias, model in ost.ALIASES.items()),
}
CONTENT_TYPES = {
    "text/plain; charset=utf-8": "text",
    "application/x-ndjson; charset=utf-8": "ndjson",
    "text/event-stream; charset=utf-8": "openai-sse",
    "application/json": "openai-json",
}
# Error types a direct invocation may be refused with (the OpenAI edge adds model_not_found), and the
# in-stream codes a mid-stream failure may carry.
REFUSALS = HANDLER_ERROR_TYPES | {"model_not_found"}
MID_STREAM = {"modelStreamErrorException", "bedrock_stream_interrupted", "bedrock_stream_incomplete"}
UNMARSHAL = "Runtime.UnmarshalError"  # the runtime's own: the payload is no JSON it can decode

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


class Outcome:
    """What one invocation produced: the /error failure, or the stream's content type, body and end."""

    def __init__(self, events: list[object], elapsed: float) -> None:
        self.events, self.elapsed = events, elapsed
        first, last = events[0], events[-1]
        self.failure = first if isinstance(first, FunctionFailed) else None
        self.content_type = first.content_type if isinstance(first, ResponseStart) else None
        self.body = b"".join(e.data for e in events if isinstance(e, BodyChunk))
        self.chunks = [e.data for e in events if isinstance(e, BodyChunk)]
        self.error = last.error if isinstance(last, ResponseEnd) else None


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        port=0, timeout=FUNCTION_TIMEOUT_S, env=tuple(FUNCTION_ENV.items()), log_level="WARNING"
    )
    with Emulator(config, environ=hermetic_env()) as running:
        yield running


@pytest.fixture(scope="module")
def outcomes() -> dict[str, int]:
    return {}


def invoke(emulator: Emulator, payload: bytes) -> Outcome:
    """Hand `payload` to the runtime as the event; what it answered, and how long it took."""
    started = time.monotonic()
    invocation = emulator.pool.acquire(timeout=FUNCTION_TIMEOUT_S).invoke(payload)
    events: list[object] = []
    while not events or not isinstance(events[-1], ResponseEnd | FunctionFailed):
        events.append(next_event(invocation))
    return Outcome(events, time.monotonic() - started)


def check_shape(case: ds.DirectCase, outcome: Outcome) -> str:
    """The properties every direct event's reply has; returns the kind of outcome."""
    assert outcome.elapsed <= FUNCTION_TIMEOUT_S + SLACK_S, f"{outcome.elapsed:.1f}s for {case.describe()}"
    if outcome.failure is not None:
        failure = outcome.failure
        assert len(outcome.events) == 1, outcome.events
        if failure.error_type == UNMARSHAL:
            return "unmarshal"
        assert failure.error_type in REFUSALS, f"{failure} for {case.describe()}"
        assert failure.message and failure.payload["stackTrace"] == [], failure.payload
        return "refused"
    assert outcome.content_type in CONTENT_TYPES, f"{outcome.content_type} for {case.describe()}"
    assert outcome.content_type != wire.CONTENT_TYPE_HTTP_INTEGRATION
    assert isinstance(outcome.events[0], ResponseStart) and outcome.events[0].streaming
    assert all(isinstance(e, BodyChunk) for e in outcome.events[1:-1]), outcome.events
    fmt = CONTENT_TYPES[outcome.content_type]
    if fmt in ("text", "ndjson"):
        decode_stream(fmt, outcome.body)  # well formed for its format
    elif fmt == "openai-sse":
        assert outcome.body.endswith(b"data: [DONE]\n\n"), outcome.body[-200:]
    else:
        json.loads(outcome.body)
    if outcome.error is None:
        return "stream"
    assert outcome.error.error_type in MID_STREAM, outcome.error
    assert outcome.error.body["stackTrace"] == [] and outcome.error.body["errorType"] in MID_STREAM
    return "mid-stream failure"


def check_expected(case: ds.DirectCase, outcome: Outcome) -> None:
    """A valid event's exact reply, as the stand-in's rules give it."""
    if case.native is not None:
        expected = case.native
        if expected.status != 200:
            assert outcome.failure is not None and outcome.failure.error_type == expected.error_type
            return
        assert outcome.failure is None, outcome.failure
        fmt = CONTENT_TYPES[str(outcome.content_type)]
        assert fmt == expected.fmt
        stream = decode_stream(fmt, outcome.body)
        assert stream.text == expected.text
        assert (outcome.error is not None) == expected.ends_in_error
        if fmt == "ndjson":
            assert stream.ending == ("error" if expected.ends_in_error else "done")
    elif case.openai is not None:
        assert outcome.failure is None, outcome.failure
        fmt = CONTENT_TYPES[str(outcome.content_type)]
        assert fmt == ("openai-sse" if case.stream else "openai-json")
        assert openai_text(fmt, outcome.body) == case.openai.text
        assert outcome.error is None


def openai_text(fmt: str, body: bytes) -> str:
    """The reply text of an OpenAI chat stream or object."""
    if fmt == "openai-json":
        return str(json.loads(body)["choices"][0]["message"]["content"])
    text = ""
    for block in body.decode().split("\n\n")[:-1]:
        payload = block.removeprefix("data: ")
        if payload != "[DONE]":
            for choice in json.loads(payload)["choices"]:
                text += choice["delta"].get("content") or ""
    return text


def check_next_is_served(emulator: Emulator, sandbox: Sandbox, process: object) -> None:
    """The same runtime process answers the next (valid) event at once."""
    outcome = invoke(emulator, b'{"prompt": "ping @stub:tokens=2"}')
    assert outcome.chunks == [token.encode() for token in reply_tokens("ping", 2)], outcome.events
    assert sandbox.process is process and not sandbox.process.exited


# Fixed examples, always run: every JSON type, reserved-key refusals, nesting past the runtime's and the
# handler's limits, and an event over MAX_REQUEST_BYTES.
@fuzz_settings(EXAMPLES)
@given(case=ds.events)
@example(case=ds.DirectCase("null", b"null"))
@example(case=ds.DirectCase("string", b'"hello"'))
@example(case=ds.DirectCase("number", b"1e400"))
@example(case=ds.DirectCase("array", b'[{"prompt": "x"}]'))
@example(case=ds.DirectCase("empty object", b"{}"))
@example(case=ds.DirectCase("only api", b'{"api": "openai"}'))
@example(case=ds.DirectCase("sse", b'{"prompt": "x", "format": "sse"}'))
@example(case=ds.DirectCase("deep 900", b'{"prompt": ' + b"[" * 900 + b"]" * 900 + b"}"))
@example(case=ds.DirectCase("deep 100000", b"[" * 100_000 + b"]" * 100_000))
@example(case=ds.DirectCase("7 MB", ds.encode({"prompt": "x" * 7 * 1024 * 1024})))
def test_arbitrary_direct_events_never_kill_the_runtime(
    emulator: Emulator, outcomes: dict[str, int], case: ds.DirectCase
) -> None:
    sandbox = emulator.pool.sandboxes[0]
    process = sandbox.ensure_process()
    outcome = invoke(emulator, case.payload)
    assert sandbox.process is process and not process.exited, f"runtime died on {case.describe()}"
    kind = check_shape(case, outcome)
    event(f"{case.label}: {kind} {getattr(outcome.failure, 'error_type', outcome.content_type)}")
    outcomes[kind] = outcomes.get(kind, 0) + 1
    check_expected(case, outcome)
    check_next_is_served(emulator, sandbox, process)


@fuzz_settings(EXAMPLES)
@given(case=ds.valid_events)
@example(
    case=ds.DirectCase(
        "mid-stream",
        b'{"prompt": "x @stub:error-after=1"}',
        fs.expected_reply("x @stub:error-after=1", fmt="text", max_tokens=None),
    )
)
def test_valid_direct_events_get_the_stand_ins_exact_reply(
    emulator: Emulator, outcomes: dict[str, int], case: ds.DirectCase
) -> None:
    sandbox = emulator.pool.sandboxes[0]
    process = sandbox.ensure_process()
    outcome = invoke(emulator, case.payload)
    kind = check_shape(case, outcome)
    event(f"{case.label}: {kind} {getattr(outcome.failure, 'error_type', outcome.content_type)}")
    outcomes[kind] = outcomes.get(kind, 0) + 1
    check_expected(case, outcome)
    assert sandbox.process is process and not process.exited, f"runtime died on {case.describe()}"


def test_the_fuzz_run_reached_every_outcome(outcomes: dict[str, int]) -> None:
    """Runs after the two fuzz tests (file order): their strategies must reach every kind of outcome."""
    if not outcomes:
        pytest.skip("run together with the fuzz tests above")
    assert {"stream", "refused", "mid-stream failure", "unmarshal"} <= set(outcomes), outcomes


# --- the same runtime, one event of each kind, exactly ------------------------------------------------


def test_a_native_event_streams_one_chunk_per_delta(emulator: Emulator) -> None:
    outcome = invoke(emulator, b'{"prompt": "hello @stub:tokens=4"}')
    assert outcome.content_type == "text/plain; charset=utf-8"
    assert outcome.chunks == [token.encode() for token in reply_tokens("hello", 4)]
    assert outcome.error is None


def test_a_refusal_is_one_error_report_without_a_stack_trace(emulator: Emulator) -> None:
    outcome = invoke(emulator, b'{"prompt": "hello", "format": "sse"}')
    assert outcome.failure is not None
    payload: dict[str, Any] = dict(outcome.failure.payload)
    assert payload.pop("requestId")
    assert payload == {
        "errorMessage": "format must be one of text, ndjson",
        "errorType": "invalid_request",
        "stackTrace": [],
    }


def test_a_mid_stream_failure_ends_with_its_error_trailers(emulator: Emulator) -> None:
    outcome = invoke(emulator, b'{"prompt": "hello @stub:error-after=2", "format": "ndjson"}')
    assert outcome.content_type == "application/x-ndjson; charset=utf-8"
    lines = [json.loads(line) for line in outcome.body.splitlines()]
    assert [line["type"] for line in lines] == ["delta", "delta", "error"]
    assert outcome.error is not None and outcome.error.error_type == "modelStreamErrorException"
    body = dict(outcome.error.body)
    assert body.pop("requestId")
    assert body == {
        "errorMessage": lines[-1]["error"]["message"],
        "errorType": "modelStreamErrorException",
        "stackTrace": [],
    }
