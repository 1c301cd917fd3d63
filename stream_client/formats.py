"""Incremental parsers for the handler's response formats (raw text, SSE, NDJSON), fed arbitrary chunks."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from stream_client.errors import StreamProtocolError

Format = Literal["text", "sse", "ndjson"]
FORMATS: tuple[Format, ...] = ("text", "sse", "ndjson")

ACCEPT_HEADERS: Mapping[Format, str] = {
    "text": "text/plain",
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
}

# A peer that never ends a line must not make us buffer without bound.
MAX_LINE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One decoded event: `kind` is delta, done, error or an ignored name; `text` is set for deltas.

    Whatever the format, an error event's `data` is `{"type", "message"}`.
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""


class BodyParser(Protocol):
    """Turns body bytes into events; `expects_done` says whether a clean end needs a `done` event."""

    expects_done: bool

    def feed(self, data: bytes) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]: ...


class TextParser:
    """Raw text: every decoded piece is a delta; UTF-8 sequences split across chunks are reassembled."""

    expects_done = False

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> list[StreamEvent]:
        return _text_event(self._decoder.decode(data))

    def close(self) -> list[StreamEvent]:
        return _text_event(self._decoder.decode(b"", final=True))


def _text_event(text: str) -> list[StreamEvent]:
    return [StreamEvent(kind="delta", text=text)] if text else []


class _LineSplitter:
    """Splits a byte stream into lines on LF, dropping a trailing CR (so CRLF works too)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        if len(self._pending) > MAX_LINE_BYTES:
            raise StreamProtocolError(f"a line longer than {MAX_LINE_BYTES} bytes")
        return [line.removesuffix(b"\r") for line in lines]

    def rest(self) -> bytes:
        rest, self._pending = self._pending.removesuffix(b"\r"), b""
        return rest


class SseParser:
    """Server-sent events (WHATWG HTML §9.2): `event:`/`data:` fields, comments, blank line dispatches."""

    expects_done = True

    def __init__(self) -> None:
        self._lines = _LineSplitter()
        self._event = ""
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for line in self._lines.feed(data):
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[StreamEvent]:
        # The spec discards an event that is not followed by a blank line: it was cut off.
        self._lines.rest()
        return []

    def _line(self, line: str) -> StreamEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> StreamEvent | None:
        name, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return _event_from(name, _json_object("\n".join(data), what=f"SSE {name!r} event"))


class NdjsonParser:
    """Newline-delimited JSON: one object per line, its `type` field names the event."""

    expects_done = True

    def __init__(self) -> None:
        self._lines = _LineSplitter()

    def feed(self, data: bytes) -> list[StreamEvent]:
        return [self._record(line) for line in self._lines.feed(data) if line.strip()]

    def close(self) -> list[StreamEvent]:
        rest = self._lines.rest()
        return [self._record(rest)] if rest.strip() else []

    def _record(self, line: bytes) -> StreamEvent:
        record = _json_object(line.decode("utf-8", errors="replace"), what="NDJSON line")
        kind = record.get("type")
        if not isinstance(kind, str):
            raise StreamProtocolError("NDJSON line without a string 'type' field")
        if kind != "error":
            return _event_from(kind, record)
        # The record's own `type` names the event, so the error's type and message are nested.
        detail = record.get("error")
        if not isinstance(detail, dict):
            raise StreamProtocolError("NDJSON error record without an 'error' object")
        return _event_from(kind, detail)


def _json_object(text: str, *, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StreamProtocolError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StreamProtocolError(f"{what} is not a JSON object")
    return value


def _event_from(kind: str, data: dict[str, Any]) -> StreamEvent:
    if kind != "delta":
        return StreamEvent(kind=kind, data=data)
    text = data.get("text")
    if not isinstance(text, str):
        raise StreamProtocolError("delta event without a string 'text' field")
    return StreamEvent(kind=kind, data=data, text=text)


def parser_for(content_type: str) -> BodyParser:
    """The parser matching a response Content-Type; anything unknown is treated as raw text."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == ACCEPT_HEADERS["sse"]:
        return SseParser()
    if media_type == ACCEPT_HEADERS["ndjson"]:
        return NdjsonParser()
    return TextParser()
