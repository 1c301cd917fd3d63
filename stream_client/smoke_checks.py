"""The smoke test's checks of the function's HTTP API: the native SSE stream arrives incrementally and ends
with `done` and usage, an OpenAI chat stream ends with `data: [DONE]` after a usage chunk, a malformed
body gets a 4xx in the JSON error shape, and `GET /v1/models` lists models.

Streaming rule: the native answer counts as streamed when its body arrived in at least two reads and the
last byte came at least STREAMING_MIN_SPREAD_MS after the first. A buffered reply (a BUFFERED Function
URL, a buffering proxy) arrives at once: its few-KB body lands within a millisecond or two, even when the
transport splits it, while a model writing 20 numbers takes well over 50 ms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stream_client.client import PreparedRequest
from stream_client.errors import StreamProtocolError
from stream_client.formats import SseParser, StreamEvent
from stream_client.smoke_http import Exchange, SmokeHttp
from stream_client.smoke_report import Check

STREAMING_MIN_SPREAD_MS = 50.0
MALFORMED_BODY = b'{"prompt": '  # JSON cut short: the handler's 400 invalid_request
_SSE = "text/event-stream"


@dataclass(frozen=True, slots=True)
class Tokens:
    """Tokens an answer reported in its usage."""

    input: int
    output: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's report line, and what later checks use: the tokens reported and the model that answered."""

    check: Check
    tokens: Tokens | None = None
    model_id: str | None = None


def native_stream(http: SmokeHttp, prepared: PreparedRequest) -> Outcome:
    """POST the native API for SSE; the body must stream and end with `done` carrying usage."""
    name = "native-stream"
    exchange = http.send_prepared(prepared)
    if exchange.status != 200:
        return Outcome(Check("FAIL", name, exchange.problem()))
    if exchange.media_type != _SSE:
        return Outcome(Check("FAIL", name, f"content type {exchange.media_type!r}, not {_SSE}"))
    try:
        events = SseParser().feed(exchange.body)
    except StreamProtocolError as exc:
        return Outcome(Check("FAIL", name, f"the SSE body does not parse: {exc}"))
    deltas = sum(1 for event in events if event.kind == "delta")
    done = next((event for event in events if event.kind in ("done", "error")), None)
    failure = _native_failure(exchange, done, deltas)
    if failure or done is None:
        return Outcome(Check("FAIL", name, failure or "no done event"))
    tokens = _native_tokens(done.data.get("usage"))
    if tokens is None:
        return Outcome(
            Check("FAIL", name, "the done event carries no usage with inputTokens and outputTokens")
        )
    timing, streamed = _timing(exchange)
    detail = (
        f"{timing}; {deltas} deltas; done: {done.data.get('stopReason')}, "
        f"usage in {tokens.input} / out {tokens.output}"
    )
    if not streamed:
        detail += (
            f"; arrived at once (buffered?): streamed needs >= 2 reads and the last byte >= "
            f"{STREAMING_MIN_SPREAD_MS:.0f} ms after the first"
        )
    model_id = done.data.get("modelId")
    return Outcome(
        Check("PASS" if streamed else "FAIL", name, detail),
        tokens=tokens,
        model_id=model_id if isinstance(model_id, str) else None,
    )


def _native_failure(exchange: Exchange, done: StreamEvent | None, deltas: int) -> str | None:
    if done is not None and done.kind == "error":
        return (
            f"in-band error event after {deltas} deltas: {done.data.get('type')}: {done.data.get('message')}"
        )
    if exchange.error:
        return f"the body was cut short after {deltas} deltas: {exchange.error}"
    if done is None:
        return f"no done event after {deltas} deltas (truncated)"
    if deltas == 0:
        return "no delta event before done"
    return None


def _native_tokens(usage: Any) -> Tokens | None:
    if not isinstance(usage, Mapping):
        return None
    return _tokens(usage.get("inputTokens"), usage.get("outputTokens"))


def _tokens(input_tokens: Any, output_tokens: Any) -> Tokens | None:
    """Tokens from two reported counts, when both are integers."""
    counts = [count for count in (input_tokens, output_tokens) if isinstance(count, int)]
    if len(counts) != 2 or any(isinstance(count, bool) for count in counts):
        return None
    return Tokens(input=counts[0], output=counts[1])


def _timing(exchange: Exchange) -> tuple[str, bool]:
    first, last = exchange.arrivals[0][0], exchange.arrivals[-1][0]
    reads = len(exchange.arrivals)
    plural = "" if reads == 1 else "s"
    text = (
        f"first byte {first:.0f} ms, last byte {last:.0f} ms "
        f"({last - first:.0f} ms later, {reads} read{plural})"
    )
    return text, reads >= 2 and last - first >= STREAMING_MIN_SPREAD_MS


def chat_stream(http: SmokeHttp, *, model: str | None, prompt: str, max_tokens: int) -> Outcome:
    """POST /v1/chat/completions streamed with include_usage: JSON chunks, a usage chunk, `data: [DONE]`."""
    name = "openai-stream"
    if model is None:
        return Outcome(Check("SKIP", name, "no model id to ask for (pass --model ID)"))
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "max_tokens": max_tokens,
        "stream_options": {"include_usage": True},
    }
    exchange = http.send(
        "POST", "v1/chat/completions", body=json.dumps(body).encode(), headers=_json_headers(_SSE)
    )
    if exchange.status != 200:
        return Outcome(Check("FAIL", name, exchange.problem()))
    data = _sse_data(exchange.body)
    if not data or data[-1] != "[DONE]":
        cut = f": {exchange.error}" if exchange.error else ""
        return Outcome(Check("FAIL", name, f"{len(data)} data lines, the last is not [DONE]{cut}"))
    chunks = [_json_or_none(line) for line in data[:-1]]
    bad = next((n for n, chunk in enumerate(chunks, 1) if not _is_chunk(chunk)), None)
    if bad is not None:
        return Outcome(Check("FAIL", name, f"data line {bad} is not a chat.completion.chunk object"))
    tokens = _chat_tokens(chunks[-1] if chunks else None)
    if tokens is None:
        return Outcome(Check("FAIL", name, "no usage chunk before [DONE] (stream_options.include_usage)"))
    finish = next((c["choices"][0].get("finish_reason") for c in chunks if _finish(c)), None)
    text = "".join(_content(chunk) for chunk in chunks)
    detail = (
        f"{len(chunks)} chunks, {len(text)} characters, finish_reason {finish}, "
        f"usage prompt {tokens.input} / completion {tokens.output}, then data: [DONE]"
    )
    return Outcome(Check("PASS", name, detail), tokens=tokens, model_id=model)


def _sse_data(body: bytes) -> list[str]:
    """Each SSE event's data (OpenAI streams send one `data:` line per event)."""
    lines = body.decode("utf-8", errors="replace").splitlines()
    return [line.removeprefix("data:").strip() for line in lines if line.startswith("data:")]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _is_chunk(chunk: Any) -> bool:
    return (
        isinstance(chunk, dict)
        and chunk.get("object") == "chat.completion.chunk"
        and isinstance(chunk.get("choices"), list)
    )


def _chat_tokens(chunk: Any) -> Tokens | None:
    usage = chunk.get("usage") if isinstance(chunk, dict) else None
    if not isinstance(usage, dict) or chunk.get("choices") != []:
        return None
    return _tokens(usage.get("prompt_tokens"), usage.get("completion_tokens"))


def _finish(chunk: dict[str, Any]) -> bool:
    choices = chunk["choices"]
    return bool(choices) and isinstance(choices[0], dict) and choices[0].get("finish_reason") is not None


def _content(chunk: dict[str, Any]) -> str:
    choice = chunk["choices"][0] if chunk["choices"] else None
    delta = choice.get("delta") if isinstance(choice, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def bad_request(http: SmokeHttp) -> Check:
    """POST a body that is not JSON: the function itself must answer a 4xx with {"error": {type, message}}."""
    name = "bad-request"
    exchange = http.send("POST", "", body=MALFORMED_BODY, headers=_json_headers("application/json"))
    if exchange.refused_by_door:
        return Check("FAIL", name, f"{exchange.problem()}; refused in front of the function, not by it")
    if not 400 <= exchange.status < 500:
        return Check("FAIL", name, f"{exchange.problem()}; a malformed body should get a 4xx")
    document = exchange.json()
    error = document.get("error") if isinstance(document, dict) else None
    fields = (error.get("type"), error.get("message")) if isinstance(error, dict) else (None, None)
    if exchange.media_type != "application/json" or not all(isinstance(f, str) and f for f in fields):
        return Check(
            "FAIL", name, f"HTTP {exchange.status} without the JSON shape {{error: {{type, message}}}}"
        )
    return Check("PASS", name, f"HTTP {exchange.status} {fields[0]}: {fields[1]}")


def models(http: SmokeHttp) -> tuple[Check, list[str]]:
    """GET /v1/models: a list object whose data holds model ids; the ids are reported."""
    name = "models"
    exchange = http.send("GET", "v1/models", headers={"Accept": "application/json"})
    if exchange.status != 200:
        return Check("FAIL", name, exchange.problem()), []
    document = exchange.json()
    data = document.get("data") if isinstance(document, dict) else None
    entries = data if isinstance(data, list) else []
    ids = [m["id"] for m in entries if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if not ids or len(ids) != len(entries) or document.get("object") != "list":
        return Check("FAIL", name, 'not a non-empty {"object": "list", "data": [{"id"}...]}'), []
    return Check("PASS", name, f"{len(ids)} models: {', '.join(ids)}"), ids


def _json_headers(accept: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": accept, "Accept-Encoding": "identity"}
