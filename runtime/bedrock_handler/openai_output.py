"""The OpenAI API's output edge: `chat.completion.chunk` Server-Sent Events or one `chat.completion`
object (text, reasoning, tool calls), finish reasons, usage, and errors in the shape the openai SDK raises
(PROTOCOL.md §12.A2, §12.A3, §12.A4)."""

from __future__ import annotations

import base64
import json

from streaming_runtime import StreamingResponse

from bedrock_handler.errors import HandlerError, ModelStreamError
from bedrock_handler.reply import Summary, compact_json

# Bedrock stop reason (and our own `deadline`) -> finish_reason; anything unlisted is "stop". The SDK
# validates finish_reason against stop, length, tool_calls, content_filter, function_call.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "deadline": "length",  # the function stopped before its own deadline: the text is cut short
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Stops whose output is unusable: reported as an error, not as a finish_reason.
MALFORMED = frozenset({"malformed_model_output", "malformed_tool_use"})
# Every error status the function sends already follows its own Bedrock retries (botocore standard mode,
# BEDROCK_MAX_ATTEMPTS with backoff), so the SDK is told not to multiply them (PROTOCOL.md §12.A3);
# `retry-after` still tells the caller's own back-off how long to wait after a throttle.
RETRY_AFTER_S = 2
_DONE = "data: [DONE]\n\n"
_SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def finish_reason(stop_reason: str) -> str:
    """The finish_reason for a stop reason; a malformed stop raises `ModelStreamError`."""
    if stop_reason in MALFORMED:
        raise ModelStreamError(f"the model stopped with {stop_reason}", error_type=stop_reason)
    return FINISH_REASONS.get(stop_reason, "stop")


def usage(summary: Summary) -> dict[str, object]:
    """The `usage` object of a finished stream: `prompt_tokens` counts every input token, cached or not;
    the details say how many were read from the prompt cache and written to it."""
    prompt_tokens = summary.all_input_tokens
    document: dict[str, object] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": summary.output_tokens,
        "total_tokens": prompt_tokens + summary.output_tokens,
    }
    if summary.cache_read_tokens or summary.cache_write_tokens:
        document["prompt_tokens_details"] = {
            "cached_tokens": summary.cache_read_tokens,
            "cache_write_tokens": summary.cache_write_tokens,
        }
    return document


def reasoning_detail(
    text: str, signature: str | None, redacted: bytes | None, index: int
) -> dict[str, object]:
    """One `reasoning_details` entry (OpenRouter's shape): a reasoning text with its signature, or the
    redacted reasoning as base64 `data`. Sent back on an assistant message, it becomes the Converse
    reasoning block again (`openai_messages`)."""
    if redacted is not None:
        return {
            "type": "reasoning.encrypted",
            "data": base64.b64encode(redacted).decode("ascii"),
            "index": index,
        }
    return {"type": "reasoning.text", "text": text, "signature": signature or "", "index": index}


def _tool_call(call_id: str, name: str, arguments: str) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def error_type(status: int) -> str:
    """The OpenAI error `type` for an HTTP status."""
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_json(exc: HandlerError | ModelStreamError) -> dict[str, object]:
    """`{"error": {"message", "type", "param", "code"}}`: `code` is the native API's error type."""
    param = exc.param if isinstance(exc, HandlerError) else None
    detail = {"message": exc.message, "type": error_type(exc.status), "param": param, "code": exc.error_type}
    return {"error": detail}


def error_text(exc: HandlerError | ModelStreamError) -> str:
    """`error_json` as ASCII JSON (see `compact_json`), unlike the chunks."""
    return compact_json(error_json(exc), ascii_only=True)


def error_response(exc: HandlerError, *, request_id: str) -> StreamingResponse:
    """The error status for a failure before the first byte."""
    headers = {"content-type": "application/json", "x-request-id": request_id, **dict(exc.headers)}
    if exc.status >= 429:
        headers["x-should-retry"] = "false"
    if exc.status == 429:
        headers["retry-after"] = str(RETRY_AFTER_S)
    return StreamingResponse([error_text(exc)], status_code=exc.status, headers=headers)


class ChunkEncoder:
    """`ReplyEncoder` for `stream: true`: one role chunk with the first delta, a chunk per delta, the
    finish chunk, the usage chunk when asked for, then `[DONE]` (also after an in-band error). `role` and
    `id` fields are sent once: the SDK's accumulator concatenates repeated strings."""

    __slots__ = (
        "_details",
        "_include_usage",
        "_prefix",
        "_reasoning",
        "_role_sent",
        "_usage_null",
        "headers",
        "name",
    )

    def __init__(
        self, *, completion_id: str, created: int, model: str, include_usage: bool, request_id: str
    ) -> None:
        self.name = "openai-sse"
        self.headers = {**_SSE_HEADERS, "x-request-id": request_id}
        head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self._prefix = "data: " + compact_json(head)[:-1] + ',"choices":'
        self._include_usage = include_usage
        self._usage_null = ',"usage":null}\n\n' if include_usage else "}\n\n"
        self._role_sent = False
        self._reasoning: list[str] = []  # the open reasoning block's text, for its `reasoning_details`
        self._details = 0  # reasoning blocks ended so far: the next entry's index

    def _choice(self, delta: str, finish: str | None = None) -> str:
        reason = "null" if finish is None else json.dumps(finish)
        return (
            f'{self._prefix}[{{"index":0,"delta":{delta},"finish_reason":{reason},"logprobs":null}}]'
            + self._usage_null
        )

    def _role(self) -> str:
        if self._role_sent:
            return ""
        self._role_sent = True
        return self._choice('{"role":"assistant","content":"","refusal":null}')

    def delta(self, text: str) -> str:
        """The role chunk (first time only) and a content chunk."""
        return self._role() + self._choice('{"content":' + json.dumps(text, ensure_ascii=False) + "}")

    def reasoning(self, text: str) -> str:
        """The role chunk (first time only) and a `reasoning_content` chunk, never inside `content`."""
        self._reasoning.append(text)
        return self._role() + self._choice(
            '{"reasoning_content":' + json.dumps(text, ensure_ascii=False) + "}"
        )

    def reasoning_end(self, signature: str | None, redacted: bytes | None) -> str:
        """The block's complete `reasoning_details` entry, once, when its signature arrives."""
        detail = reasoning_detail("".join(self._reasoning), signature, redacted, self._details)
        self._reasoning.clear()
        self._details += 1
        return self._role() + self._choice(compact_json({"reasoning_details": [detail]}))

    def tool_call(self, index: int, call_id: str, name: str) -> str:
        """The call's first fragment: `index`, `id`, `type` and the name, with empty arguments."""
        call = {"index": index, **_tool_call(call_id, name, "")}
        return self._role() + self._choice(compact_json({"tool_calls": [call]}))

    def tool_arguments(self, index: int, fragment: str) -> str:
        """A later fragment: only `index` and the piece of arguments (repeated strings would be joined)."""
        call = {"index": index, "function": {"arguments": fragment}}
        return self._choice(compact_json({"tool_calls": [call]}))

    def done(self, summary: Summary) -> str:
        """The finish chunk, the usage chunk if `include_usage`, and `[DONE]`."""
        end = self._role() + self._choice("{}", finish_reason(summary.stop_reason))
        if self._include_usage:
            end += self._prefix + "[]," + '"usage":' + compact_json(usage(summary)) + "}\n\n"
        return end + _DONE

    def error(self, exc: ModelStreamError) -> str:
        """`data: {"error": {...}}` (the SDK raises it as `APIError`), then `[DONE]`."""
        return f"data: {error_text(exc)}\n\n" + _DONE


class CompletionEncoder:
    """`ReplyEncoder` for `stream: false`: collects the reply and sends one `chat.completion` object at
    the end, so any failure before it is still an error status."""

    __slots__ = (
        "_block_start",
        "_calls",
        "_completion_id",
        "_created",
        "_details",
        "_model",
        "_reasoning",
        "_texts",
        "headers",
        "name",
    )

    def __init__(self, *, completion_id: str, created: int, model: str, request_id: str) -> None:
        self.name = "openai-json"
        self.headers = {"content-type": "application/json", "x-request-id": request_id}
        self._completion_id, self._created, self._model = completion_id, created, model
        self._texts: list[str] = []
        self._reasoning: list[str] = []
        self._block_start = 0  # where the open reasoning block starts in `_reasoning`
        self._details: list[dict[str, object]] = []
        self._calls: list[tuple[str, str, list[str]]] = []  # id, name, argument fragments

    def delta(self, text: str) -> str:
        """Nothing yet: the text is kept for the final object."""
        self._texts.append(text)
        return ""

    def reasoning(self, text: str) -> str:
        """Nothing yet: the reasoning is kept for `reasoning_content`."""
        self._reasoning.append(text)
        return ""

    def reasoning_end(self, signature: str | None, redacted: bytes | None) -> str:
        """Nothing yet: the block's entry is kept for `reasoning_details`."""
        text = "".join(self._reasoning[self._block_start :])
        self._block_start = len(self._reasoning)
        self._details.append(reasoning_detail(text, signature, redacted, len(self._details)))
        return ""

    def tool_call(self, index: int, call_id: str, name: str) -> str:
        """Nothing yet: the call is kept for `tool_calls`."""
        self._calls.append((call_id, name, []))
        return ""

    def tool_arguments(self, index: int, fragment: str) -> str:
        """Nothing yet: the fragment is added to its call's arguments."""
        self._calls[index][2].append(fragment)
        return ""

    def done(self, summary: Summary) -> str:
        """The whole `chat.completion` object."""
        text = "".join(self._texts)
        message: dict[str, object] = {
            "role": "assistant",
            "content": None if self._calls and not text else text,
            "refusal": None,
        }
        if self._calls:
            message["tool_calls"] = [_tool_call(i, n, "".join(a)) for i, n, a in self._calls]
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._details:
            message["reasoning_details"] = self._details
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": finish_reason(summary.stop_reason),
            "logprobs": None,
        }
        return compact_json(
            {
                "id": self._completion_id,
                "object": "chat.completion",
                "created": self._created,
                "model": self._model,
                "choices": [choice],
                "usage": usage(summary),
            }
        )

    def error(self, exc: ModelStreamError) -> str:
        """The error object (only reachable if a body was already sent, which this encoder never does)."""
        return error_text(exc)
