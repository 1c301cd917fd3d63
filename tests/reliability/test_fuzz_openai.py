"""Fuzzing (hypothesis) of `POST …/v1/chat/completions` through the real emulator, runtime, handler and
stand-in: a malformed body always gets a 4xx with an OpenAI error body, a valid one a 200 stream or object
(as it asked) that the openai SDK's models accept, never a 5xx or a hang, and the runtime never dies.

Sizes: FUZZ_EXAMPLES examples per test (default 150, a CI run); `make fuzz` sets thousands. Without
FUZZ_SEED the run is derandomized (reproducible CI); FUZZ_SEED=N replays the random run `make fuzz`
printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hypothesis import event, example, given
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.reliability import openai_strategies as ost
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
    "BEDROCK_MAX_ATTEMPTS": "1",
    "AWS_LAMBDA_LOG_LEVEL": "WARN",
    "MODEL_ALIASES": ",".join(f"{alias}={model}" for alias, model in ost.ALIASES.items()),
}
ERROR_KEYS = {"message", "type", "param", "code"}
# 4xx codes the OpenAI edge answers a request with (the native API's error types).
CLIENT_ERROR_CODES = {
    400: {"invalid_request"},
    404: {"model_not_found"},
    405: {"method_not_allowed"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
}

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


class Target(EmulatorTarget):
    """The emulator under test, and what the fuzz run reached."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        super().__init__(emulator)
        self.outcomes: dict[str, int] = {}

    def send(self, case: ost.OpenAICase) -> RawReply:
        http = case.http()
        data = build_request(http.method, http.target, list(http.headers), http.body, host=self.host)
        return exchange(self.address, data, timeout=FUNCTION_TIMEOUT_S + SLACK_S)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with fuzzed_emulator(FUNCTION_ENV) as running:
        yield Target(running)
    assert "runtime exited" not in running.log(), running.log()[-4000:]  # one runtime served every request


def sse_payloads(body: bytes) -> list[Any]:
    """The `data:` payloads of an OpenAI stream, `[DONE]` as a string; each event is one data line."""
    text = body.decode("utf-8")
    assert text.endswith("\n\n"), f"SSE body does not end with a blank line: {text[-120:]!r}"
    payloads: list[Any] = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, block[:200]
        payload = block[len("data: ") :]
        payloads.append(payload if payload == "[DONE]" else json.loads(payload))
    return payloads


def check_stream(case: ost.OpenAICase, body: bytes) -> tuple[str, str, Any]:
    """A whole chunk stream: SDK-valid chunks, one finish chunk, usage when asked, then `[DONE]`."""
    *payloads, done = sse_payloads(body)
    assert done == "[DONE]", "stream without [DONE]"
    chunks = [ChatCompletionChunk.model_validate(payload) for payload in payloads]
    usage = None
    if case.include_usage:
        last = chunks.pop()
        assert last.choices == [] and last.usage is not None, payloads[-1]
        usage = last.usage
        assert all("usage" in payload and payload["usage"] is None for payload in payloads[:-1])
    else:
        assert all("usage" not in payload for payload in payloads)
    assert chunks and chunks[0].choices[0].delta.role == "assistant"
    assert sum(1 for chunk in chunks if chunk.choices[0].delta.role) == 1
    reasons = [chunk.choices[0].finish_reason for chunk in chunks]
    assert reasons[:-1] == [None] * (len(chunks) - 1) and reasons[-1] is not None, reasons
    assert len({(c.id, c.created, c.model) for c in chunks}) == 1
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    return text, reasons[-1], (chunks[0].model, usage)


def check_reply(target: Target, case: ost.OpenAICase, reply: RawReply) -> int:
    """The properties every reply must have (module docstring); returns the status."""
    assert reply.status is not None, f"no status line for {case.describe()}"
    assert reply.elapsed <= FUNCTION_TIMEOUT_S + SLACK_S, f"{reply.elapsed:.1f}s for {case.describe()}"
    pid, _ = target.sandbox()
    assert pid == target.pid, f"runtime pid changed {target.pid} -> {pid} after {case.describe()}"
    media_type = (reply.header("Content-Type") or "").split(";")[0].strip()
    assert reply.complete, f"reply cut off ({reply.framing}) for {case.describe()}"
    if reply.status == 200:
        assert reply.header("x-request-id"), reply.headers
        if case.wants_stream:
            assert media_type == "text/event-stream", f"{media_type} for a stream request {case.describe()}"
            check_stream(case, reply.body)
        else:
            assert media_type == "application/json", f"{media_type} for {case.describe()}"
            ChatCompletion.model_validate(reply.json())
        event(f"200 {'stream' if case.wants_stream else 'object'}")
        return 200
    assert 400 <= reply.status < 500 and reply.status != 429, (
        f"{reply.status} {reply.body[:300]!r} for {case.describe()}"
    )
    assert media_type == "application/json", f"{reply.status} {media_type} {reply.body[:200]!r}"
    assert reply.header("x-request-id"), reply.headers  # the function's reply, not the emulator's
    document = reply.json()
    assert set(document) == {"error"} and set(document["error"]) == ERROR_KEYS, document
    error = document["error"]
    assert isinstance(error["message"], str) and error["message"], error
    assert error["type"] == "invalid_request_error", error
    assert error["param"] is None or isinstance(error["param"], str), error
    assert error["code"] in CLIENT_ERROR_CODES.get(reply.status, set()), (reply.status, error)
    assert "Traceback" not in error["message"] and 'File "' not in error["message"], error
    param = error["param"] if error["param"] in ost.KNOWN_FIELDS else "other"
    event(f"{reply.status} {error['code']} param={param}")
    return reply.status


# Regressions and edge cases, always replayed: 100k-deep arrays as the body and inside an ignored field; a
# top-level key and a content-part key holding a lone surrogate (their error message echoed the key, and
# the UTF-8 encoding of that reply failed in the runtime: a 502 instead of the 400).
_BASE = {"model": ost.HAIKU, "messages": [{"role": "user", "content": "hi"}]}


@fuzz_settings(EXAMPLES)
@given(case=ost.malformed_cases)
@example(case=ost.OpenAICase("deep-body", ost.deep(100_000).encode()))
@example(case=ost.OpenAICase("deep-metadata", ost.with_raw_field(_BASE, "metadata", ost.deep(100_000))))
@example(case=ost.OpenAICase("surrogate-key", ost.encode({**_BASE, "\ud800": 1})))
@example(
    case=ost.OpenAICase(
        "surrogate-part-key",
        ost.encode(
            {**_BASE, "messages": [{"role": "user", "content": [{"type": "text", "text": "a", "\udfff": 1}]}]}
        ),
    )
)
def test_malformed_bodies_get_an_openai_4xx(target: Target, case: ost.OpenAICase) -> None:
    status = check_reply(target, case, target.send(case))
    key = "200" if status == 200 else "4xx"
    target.outcomes[key] = target.outcomes.get(key, 0) + 1


@fuzz_settings(max(20, EXAMPLES // 2))
@given(case=ost.valid_cases())
def test_valid_bodies_get_the_stand_ins_exact_reply(target: Target, case: ost.OpenAICase) -> None:
    reply = target.send(case)
    assert check_reply(target, case, reply) == 200, (
        f"{reply.status} {reply.body[:300]!r} for {case.describe()}"
    )
    expected = case.expected
    assert expected is not None
    if case.wants_stream:
        text, finish_reason, (model, usage) = check_stream(case, reply.body)
        if case.include_usage:
            assert (usage.prompt_tokens, usage.completion_tokens) == (
                expected.prompt_tokens,
                expected.completion_tokens,
            )
    else:
        completion = ChatCompletion.model_validate(reply.json())
        text = completion.choices[0].message.content or ""
        finish_reason, model = completion.choices[0].finish_reason, completion.model
        assert completion.usage is not None
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
            expected.prompt_tokens,
            expected.completion_tokens,
        )
    assert (text, finish_reason, model) == (expected.text, expected.finish_reason, expected.model)


def test_the_fuzz_run_reached_both_outcomes(target: Target) -> None:
    """Runs after the malformed-body fuzz (file order): its strategies must reach both outcomes."""
    if not target.outcomes:
        pytest.skip("run together with test_malformed_bodies_get_an_openai_4xx")
    assert {"200", "4xx"} <= set(target.outcomes), target.outcomes


def test_the_runtime_still_serves_the_sdk(target: Target) -> None:
    """After the fuzz: the same runtime answers the real SDK (strict validation), streamed and whole."""
    client = openai.OpenAI(
        base_url=target.url + "v1", api_key="unused", max_retries=0, _strict_response_validation=True
    )
    messages: Any = [{"role": "user", "content": "after the fuzz @stub:tokens=3"}]
    with client:
        whole = client.chat.completions.create(model="fast", messages=messages)
        assert whole.model == ost.NOVA and whole.choices[0].finish_reason == "stop"
        assert whole.choices[0].message.content == "".join(ost.reply_tokens("after the fuzz", 3))
        stream = client.chat.completions.create(
            model=ost.HAIKU, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == whole.choices[0].message.content
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    pid, _ = target.sandbox()
    assert pid == target.pid
