"""The OpenAI API's output edge: `chat.completion.chunk` Server-Sent Events or one `chat.completion`
object, finish reasons, usage, and errors in the shape the openai SDK raises (PROTOCOL.md §12.A2, §12.A3)."""

from __future__ import annotations

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


def usage(summary: Summary) -> dict[str, int]:
    """The `usage` object of a finished stream."""
    return {
        "prompt_tokens": summary.input_tokens,
        "completion_tokens": summary.output_tokens,
        "total_tokens": summary.input_tokens + summary.output_tokens,
    }


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

    __slots__ = ("_include_usage", "_prefix", "_role_sent", "_usage_null", "headers", "name")

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
    """`ReplyEncoder` for `stream: false`: collects the deltas and sends one `chat.completion` object at
    the end, so any failure before it is still an error status."""

    __slots__ = ("_completion_id", "_created", "_model", "_texts", "headers", "name")

    def __init__(self, *, completion_id: str, created: int, model: str, request_id: str) -> None:
        self.name = "openai-json"
        self.headers = {"content-type": "application/json", "x-request-id": request_id}
        self._completion_id, self._created, self._model = completion_id, created, model
        self._texts: list[str] = []

    def delta(self, text: str) -> str:
        """Nothing yet: the text is kept for the final object."""
        self._texts.append(text)
        return ""

    def done(self, summary: Summary) -> str:
        """The whole `chat.completion` object."""
        message = {"role": "assistant", "content": "".join(self._texts), "refusal": None}
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
