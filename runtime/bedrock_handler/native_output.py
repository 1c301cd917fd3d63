"""The native API's output edge: raw text, Server-Sent Events or NDJSON replies, and its error bodies."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping

from streaming_runtime import StreamingResponse

from bedrock_handler.errors import HandlerError, ModelStreamError
from bedrock_handler.reply import Summary, compact_json


class OutputFormat(enum.Enum):
    """How text deltas are written to the client."""

    TEXT = "text"
    SSE = "sse"
    NDJSON = "ndjson"


_CONTENT_TYPES = {
    OutputFormat.TEXT: "text/plain; charset=utf-8",
    OutputFormat.SSE: "text/event-stream; charset=utf-8",
    OutputFormat.NDJSON: "application/x-ndjson; charset=utf-8",
}


def summary_json(summary: Summary) -> dict[str, object]:
    """The camelCase document of the `done` event (without the NDJSON `type`)."""
    usage: dict[str, int] = {
        "inputTokens": summary.input_tokens,
        "outputTokens": summary.output_tokens,
        "totalTokens": summary.all_input_tokens + summary.output_tokens,
    }
    if summary.cache_read_tokens:
        usage["cacheReadInputTokens"] = summary.cache_read_tokens
    if summary.cache_write_tokens:
        usage["cacheWriteInputTokens"] = summary.cache_write_tokens
    return {
        "stopReason": summary.stop_reason,
        "usage": usage,
        "metrics": {"firstTokenMs": summary.first_token_ms, "totalMs": summary.total_ms},
        "modelId": summary.model_id,
    }


def response_headers(fmt: OutputFormat) -> dict[str, str]:
    """Headers of a streamed 200 response in this format."""
    headers = {"content-type": _CONTENT_TYPES[fmt]}
    if fmt is not OutputFormat.TEXT:
        headers["cache-control"] = "no-cache"
    if fmt is OutputFormat.SSE:
        headers["x-accel-buffering"] = "no"  # tells nginx-style proxies in front not to buffer the stream
    return headers


def _event(fmt: OutputFormat, name: str, document: Mapping[str, object], *, ascii_only: bool = False) -> str:
    if fmt is OutputFormat.SSE:
        return f"event: {name}\ndata: {compact_json(document, ascii_only=ascii_only)}\n\n"
    return compact_json({"type": name, **document}, ascii_only=ascii_only) + "\n"


class NativeEncoder:
    """`ReplyEncoder` of the native API in one of its three formats."""

    __slots__ = ("_fmt", "headers", "name")

    def __init__(self, fmt: OutputFormat) -> None:
        self._fmt = fmt
        self.name = fmt.value
        self.headers = response_headers(fmt)

    def delta(self, text: str) -> str:
        """One text delta (only the text is serialised per delta: the hot path of every stream)."""
        if self._fmt is OutputFormat.TEXT:
            return text
        quoted = json.dumps(text, ensure_ascii=False)
        if self._fmt is OutputFormat.SSE:
            return 'event: delta\ndata: {"text":' + quoted + "}\n\n"
        return '{"type":"delta","text":' + quoted + "}\n"

    def reasoning(self, text: str) -> str:
        """A `reasoning` event; raw text leaves reasoning out (its body is the answer only)."""
        quoted = json.dumps(text, ensure_ascii=False)
        if self._fmt is OutputFormat.SSE:
            return 'event: reasoning\ndata: {"text":' + quoted + "}\n\n"
        if self._fmt is OutputFormat.NDJSON:
            return '{"type":"reasoning","text":' + quoted + "}\n"
        return ""

    def reasoning_end(self, signature: str | None, redacted: bytes | None) -> str:
        """Nothing: the native API does not take reasoning back, so signatures are not sent."""
        return ""

    def tool_call(self, index: int, call_id: str, name: str) -> str:
        """Nothing: native requests carry no tools, so the model calls none."""
        return ""

    def tool_arguments(self, index: int, fragment: str) -> str:
        """Nothing (see `tool_call`)."""
        return ""

    def done(self, summary: Summary) -> str:
        """The final event; raw text has none (its end is the end of the body)."""
        return "" if self._fmt is OutputFormat.TEXT else _event(self._fmt, "done", summary_json(summary))

    def error(self, exc: ModelStreamError) -> str:
        """The in-band error; raw text carries none (only the runtime's error trailers).

        SSE data is `{"type","message"}`; NDJSON nests it as `{"type":"error","error":{"type","message"}}`
        because its own `type` field names the event.
        """
        detail = {"type": exc.error_type, "message": exc.message}
        if self._fmt is OutputFormat.SSE:
            return _event(self._fmt, "error", detail, ascii_only=True)
        if self._fmt is OutputFormat.TEXT:
            return ""
        return _event(self._fmt, "error", {"error": detail}, ascii_only=True)


def error_body(*, error_type: str, message: str) -> str:
    """The JSON body of an error status sent before the stream: `{"error": {"type", "message"}}`."""
    return compact_json({"error": {"type": error_type, "message": message}}, ascii_only=True)


def error_response(exc: HandlerError) -> StreamingResponse:
    """The error status for a failure before the first byte."""
    body = error_body(error_type=exc.error_type, message=exc.message)
    return StreamingResponse(
        [body], status_code=exc.status, headers={"content-type": "application/json", **dict(exc.headers)}
    )
