"""Fuzzing (hypothesis) of the ConverseStream surface through the real emulator, runtime, handler and
stand-in: tool definitions, tool choices and tool-call rounds, `image_url` data URLs and `file` parts,
reasoning efforts and `reasoning_details` on the OpenAI API; image and document blocks and `reasoning`
on the native API; and valid requests with one fault only a deep check catches. Every reply is a JSON
4xx with an `error` object or a 200 (an SDK-valid stream or object, whose tool calls the SDK's
accumulator takes), never a 5xx or a hang; a valid request gets the stand-in's echo of exactly its
attachments, and the tool call and reasoning it asked for; and no fuzzed image bytes, document text,
tool argument, tool result or reasoning text ever appears in the function's log, which runs at INFO.

Sizes: FUZZ_EXAMPLES examples per test (default 150); FUZZ_SEED=N replays a random run (fuzz_target).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, example, given
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.reliability import surface_strategies as sst
from tests.reliability.fuzz_target import (
    EXAMPLES,
    FUNCTION_TIMEOUT_S,
    SLACK_S,
    EmulatorTarget,
    fuzz_settings,
    fuzzed_emulator,
)
from tests.reliability.raw_http import RawReply, build_request, exchange
from tests.support.emulator_process import EmulatorProcess

FUNCTION_ENV = {
    "MODEL_IDS": ",".join(sst.MODEL_IDS),
    "BEDROCK_MAX_ATTEMPTS": "1",
    "AWS_LAMBDA_LOG_LEVEL": "INFO",  # the log under test: nothing fuzzed may reach it at INFO
    "PROMPT_CACHING": "all",
    "GUARDRAIL_ID": "gr0fuzz1",
    "GUARDRAIL_VERSION": "1",
}
OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}
NATIVE_ERROR_KEYS = {"type", "message"}

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


class Target(EmulatorTarget):
    """The emulator under test, what the fuzz run reached, and every marker it sent."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        super().__init__(emulator)
        self.outcomes: dict[str, int] = {}
        self.secrets: set[str] = set()

    def send(self, case: sst.SurfaceCase) -> RawReply:
        self.secrets.update(case.secrets)
        headers = [("Content-Type", "application/json")]
        data = build_request("POST", case.path, headers, case.body(), host=self.host)
        return exchange(self.address, data, timeout=FUNCTION_TIMEOUT_S + SLACK_S)

    def logged(self, reply: RawReply) -> str:
        """The log, once the function's invocation line for `reply` is in it."""
        request_id = reply.header("x-amzn-RequestId")
        try:
            self.emulator.wait_for_log(
                f'"requestId":"{request_id}"', timeout=5 if reply.status != 413 else 0.5
            )
        except AssertionError:
            if reply.status != 413:  # the Function URL's own 413: the function never ran
                raise
        return self.emulator.log()

    def count(self, key: str) -> None:
        self.outcomes[key] = self.outcomes.get(key, 0) + 1


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with fuzzed_emulator(FUNCTION_ENV) as running:
        yield Target(running)
    assert "runtime exited" not in running.log(), running.log()[-4000:]


def sse_payloads(body: bytes) -> list[Any]:
    text = body.decode("utf-8")
    assert text.endswith("\n\n"), f"SSE body does not end with a blank line: {text[-120:]!r}"
    payloads: list[Any] = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, block[:200]
        payload = block[len("data: ") :]
        payloads.append(payload if payload == "[DONE]" else json.loads(payload))
    return payloads


def openai_reply(case: sst.SurfaceCase, reply: RawReply) -> Any:
    """A 200 of the OpenAI API, checked by the SDK: its final message (accumulated when streamed)."""
    media_type = (reply.header("Content-Type") or "").split(";")[0].strip()
    if not case.wants_stream:
        assert media_type == "application/json", media_type
        return ChatCompletion.model_validate(reply.json()).choices[0].message
    assert media_type == "text/event-stream", media_type
    *payloads, done = sse_payloads(reply.body)
    assert done == "[DONE]"
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    chunks = [ChatCompletionChunk.model_validate(payload) for payload in payloads]
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] is not None and all(r is None for r in reasons[:-1]), reasons
    for chunk in chunks:
        state.handle_chunk(chunk)  # the `.stream()` helper: raises on a tool call index out of order
    return state.current_completion_snapshot.choices[0].message


def native_reply(case: sst.SurfaceCase, reply: RawReply) -> tuple[str, bool]:
    """A 200 of the native API: its text, and whether it held reasoning events."""
    text = reply.body.decode("utf-8")
    if case.path.endswith("text"):
        return text, False
    if case.path.endswith("sse"):
        events = [block.split("\n", 1) for block in text[:-2].split("\n\n")]
        names = [name.removeprefix("event: ") for name, _ in events]
        data = [json.loads(line.removeprefix("data: ")) for _, line in events]
    else:
        data = [json.loads(line) for line in text.splitlines()]
        names = [document.pop("type") for document in data]
    assert names[-1] == "done", names
    answer = "".join(d["text"] for n, d in zip(names, data, strict=True) if n == "delta")
    return answer, "reasoning" in names


def check_reply(target: Target, case: sst.SurfaceCase, reply: RawReply) -> int:
    """The properties of every reply (module docstring); returns the status."""
    assert reply.status is not None, f"no status line for {case.describe()}"
    assert reply.complete, f"reply cut off ({reply.framing}) for {case.describe()}"
    assert reply.elapsed <= FUNCTION_TIMEOUT_S + SLACK_S, f"{reply.elapsed:.1f}s for {case.describe()}"
    log = target.logged(reply)
    leaked = sorted(secret for secret in case.secrets if secret in log)
    assert not leaked, f"logged {leaked} for {case.describe()}"
    pid, _ = target.sandbox()
    assert pid == target.pid, f"runtime pid changed {target.pid} -> {pid} after {case.describe()}"
    if len(case.body()) > 1_000_000:
        event("a multi-megabyte attachment")
    if reply.status == 200:
        event(f"200 {case.label}")
        return 200
    assert 400 <= reply.status < 500 and reply.status != 429, (
        f"{reply.status} {reply.body[:400]!r} for {case.describe()}"
    )
    assert (reply.header("Content-Type") or "").startswith("application/json"), reply.headers
    document = reply.json()
    assert set(document) == {"error"}, document
    error = document["error"]
    assert isinstance(error.get("message"), str) and error["message"], error
    if reply.status == 413:  # the function's (in its API's shape) or the Function URL's own
        assert set(error) in (NATIVE_ERROR_KEYS, OPENAI_ERROR_KEYS), error
    elif case.native:
        assert set(error) == NATIVE_ERROR_KEYS, error
    else:
        assert set(error) == OPENAI_ERROR_KEYS and error["type"] == "invalid_request_error", error
    assert "Traceback" not in error["message"], error
    event(f"{reply.status} {case.label} {error.get('code') or error.get('type')}")
    return reply.status


def check_valid(case: sst.SurfaceCase, reply: RawReply) -> None:
    """A request the strategies built valid: 200, the stand-in echoes exactly its attachments, and the
    tool call and reasoning it asked for arrive."""
    assert reply.status == 200, f"{reply.status} {reply.body[:400]!r} for {case.describe()}"
    echo = "".join(case.echoes)
    if case.native:
        text, reasoned = native_reply(case, reply)
        assert text.startswith(echo), (text[:200], echo)
        assert reasoned == case.reasons, case.describe()
        return
    message = openai_reply(case, reply)
    assert (message.content or "").startswith(echo), (message.content, echo)
    calls = [call.function.name for call in message.tool_calls or []]
    assert calls == ([case.tool] if case.tool else []), (calls, case.describe())
    extra = message.model_extra or {}
    assert bool(extra.get("reasoning_content")) == case.reasons, (extra, case.describe())


@fuzz_settings(EXAMPLES)
@given(case=sst.openai_cases())
def test_openai_surface_gets_a_4xx_or_a_200(target: Target, case: sst.SurfaceCase) -> None:
    reply = target.send(case)
    status = check_reply(target, case, reply)
    target.count("200" if status == 200 else "4xx")
    if status == 200:
        openai_reply(case, reply)
    if case.valid:
        check_valid(case, reply)


_USER = {"role": "user", "content": "hi"}
_CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}


def _pinned(label: str, messages: list[Any] | None = None, **document: Any) -> sst.SurfaceCase:
    return sst.SurfaceCase(label, {"model": sst.NOVA_LITE, "messages": messages or [_USER], **document})


def _history(arguments: str = "{}", calls: int = 1) -> list[Any]:
    call = {**_CALL, "function": {"name": "weather", "arguments": arguments}}
    asks = {"role": "assistant", "content": None, "tool_calls": [call] * calls}
    return [_USER, asks, {"role": "tool", "tool_call_id": "call_1", "content": "rain"}]


def _tool(**function: Any) -> list[Any]:
    return [{"type": "function", "function": {"name": "weather", **function}}]


# Always replayed: each request class the handler passed on to Bedrock, which refused it (a 502).
@fuzz_settings(EXAMPLES)
@given(case=sst.subtle_cases())
@example(case=_pinned("description-surrogate", tools=_tool(description="\ud800")))
@example(case=_pinned("parameters-surrogate", tools=_tool(parameters={"type": "object", "title": "\udfff"})))
@example(case=_pinned("arguments-surrogate", _history('{"city": "\\ud800"}')))
@example(
    case=_pinned(
        "signature-surrogate",
        [
            _USER,
            {
                "role": "assistant",
                "content": "a",
                "reasoning_details": [{"type": "reasoning.text", "text": "t", "signature": "\udc00"}],
            },
            _USER,
        ],
    )
)
@example(case=_pinned("duplicate-call-ids", _history(calls=2)))
@example(
    case=sst.SurfaceCase(
        "claude-thinking-after-a-tool-call-without-its-thinking-block",
        {"model": sst.HAIKU_45, "messages": _history(), "tools": _tool(), "reasoning_effort": "low"},
    )
)
def test_faults_only_a_deep_check_catches_get_a_4xx_or_a_200(target: Target, case: sst.SurfaceCase) -> None:
    reply = target.send(case)
    status = check_reply(target, case, reply)
    target.count("subtle-200" if status == 200 else "subtle-4xx")
    if status == 200:
        openai_reply(case, reply)


@fuzz_settings(max(20, EXAMPLES // 2))
@given(case=sst.native_cases())
def test_native_surface_gets_a_4xx_or_a_200(target: Target, case: sst.SurfaceCase) -> None:
    reply = target.send(case)
    status = check_reply(target, case, reply)
    target.count("native-200" if status == 200 else "native-4xx")
    if status == 200:
        native_reply(case, reply)
    if case.valid:
        check_valid(case, reply)


def test_the_fuzz_run_reached_every_outcome(target: Target) -> None:
    """Runs after the fuzz tests (file order): each API's strategies must reach both outcomes."""
    if not target.outcomes:
        pytest.skip("run together with the fuzz tests above")
    for api in ("", "native-"):
        reached = {key for key in target.outcomes if key in (f"{api}200", f"{api}4xx")}
        assert not reached or reached == {f"{api}200", f"{api}4xx"}, target.outcomes


def test_the_log_holds_no_fuzzed_content(target: Target) -> None:
    """After the fuzz: one more invocation's INFO line is in the log (so INFO lines were written all
    along), and no marker of any fuzzed request is anywhere in it."""
    marker = "qzxsentinel00000000"
    case = sst.SurfaceCase(
        "sentinel",
        {"model": sst.NOVA_LITE, "messages": [{"role": "user", "content": f"{marker} @stub:tokens=1"}]},
        secrets=(marker,),
    )
    reply = target.send(case)
    assert reply.status == 200
    log = target.logged(reply)
    request_id = reply.header("x-amzn-RequestId")
    assert f'"requestId":"{request_id}"' in log and '"event":"invocation"' in log
    leaked = sorted(secret for secret in target.secrets if secret in log)
    assert not leaked, leaked
