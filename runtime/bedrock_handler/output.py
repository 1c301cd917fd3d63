"""Response body formats: raw text, Server-Sent Events and NDJSON, with their headers and final events."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import NamedTuple


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


# A NamedTuple, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class Summary(NamedTuple):
    """What the final `done` event reports."""

    stop_reason: str
    input_tokens: int
    output_tokens: int
    first_token_ms: int | None
    total_ms: int
    model_id: str

    def to_json(self) -> dict[str, object]:
        """The camelCase document of the `done` event (without the NDJSON `type`)."""
        return {
            "stopReason": self.stop_reason,
            "usage": {
                "inputTokens": self.input_tokens,
                "outputTokens": self.output_tokens,
                "totalTokens": self.input_tokens + self.output_tokens,
            },
            "metrics": {"firstTokenMs": self.first_token_ms, "totalMs": self.total_ms},
            "modelId": self.model_id,
        }


def response_headers(fmt: OutputFormat) -> dict[str, str]:
    """Headers of a streamed 200 response in this format."""
    headers = {"content-type": _CONTENT_TYPES[fmt]}
    if fmt is not OutputFormat.TEXT:
        headers["cache-control"] = "no-cache"
    if fmt is OutputFormat.SSE:
        headers["x-accel-buffering"] = "no"  # tells nginx-style proxies in front not to buffer the stream
    return headers


def _compact(document: Mapping[str, object]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _event(fmt: OutputFormat, name: str, document: Mapping[str, object]) -> str:
    if fmt is OutputFormat.SSE:
        return f"event: {name}\ndata: {_compact(document)}\n\n"
    return _compact({"type": name, **document}) + "\n"


def delta(fmt: OutputFormat, text: str) -> str:
    """One text delta."""
    return text if fmt is OutputFormat.TEXT else _event(fmt, "delta", {"text": text})


def done(fmt: OutputFormat, summary: Summary) -> str:
    """The final event; raw text has none (its end is the end of the body)."""
    return "" if fmt is OutputFormat.TEXT else _event(fmt, "done", summary.to_json())


def error(fmt: OutputFormat, *, error_type: str, message: str) -> str:
    """The in-band error after the first byte; raw text carries none (only the runtime's error trailers).

    SSE data is `{"type","message"}`; NDJSON nests it as `{"type":"error","error":{"type","message"}}`
    because its own `type` field names the event.
    """
    detail = {"type": error_type, "message": message}
    if fmt is OutputFormat.SSE:
        return _event(fmt, "error", detail)
    return "" if fmt is OutputFormat.TEXT else _event(fmt, "error", {"error": detail})


def error_body(*, error_type: str, message: str) -> str:
    """The JSON body of an error status sent before the stream: `{"error": {"type", "message"}}`."""
    return _compact({"error": {"type": error_type, "message": message}})
