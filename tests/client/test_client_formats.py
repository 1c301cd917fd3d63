"""The incremental SSE/NDJSON/text parsers, fed whole bodies and the same bodies cut at every byte."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_client.errors import StreamProtocolError
from stream_client.formats import (
    NdjsonParser,
    SseParser,
    StreamEvent,
    TextParser,
    parser_for,
)

DONE = {"stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}}
SSE_BODY = (
    b": keep-alive comment\n\n"
    b'event: delta\ndata: {"text": "Hel"}\n\n'
    b'event: delta\r\ndata: {"text": "l\\u00f6 \xe2\x9c\x93"}\r\n\r\n'
    b"event: done\ndata: " + json.dumps(DONE).encode() + b"\n\n"
)
NDJSON_BODY = (
    b'{"type": "delta", "text": "Hel"}\n'
    b'{"type": "delta", "text": "l\xc3\xb6 \xe2\x9c\x93"}\n'
    b"\n" + json.dumps({"type": "done", **DONE}).encode() + b"\n"
)


def feed_all(parser: SseParser | NdjsonParser | TextParser, pieces: list[bytes]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    return events + parser.close()


def cut(body: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(points)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


def test_sse_events_in_one_piece() -> None:
    events = feed_all(SseParser(), [SSE_BODY])
    assert [e.kind for e in events] == ["delta", "delta", "done"]
    assert "".join(e.text for e in events) == "Hellö ✓"
    assert events[-1].data["usage"]["outputTokens"] == 2


@given(st.lists(st.integers(min_value=0, max_value=len(SSE_BODY)), max_size=12))
def test_sse_any_split_gives_same_events(points: list[int]) -> None:
    assert feed_all(SseParser(), cut(SSE_BODY, points)) == feed_all(SseParser(), [SSE_BODY])


def test_sse_byte_by_byte() -> None:
    events = feed_all(SseParser(), [SSE_BODY[i : i + 1] for i in range(len(SSE_BODY))])
    assert "".join(e.text for e in events) == "Hellö ✓"


def test_sse_multiline_data_is_joined_with_newlines() -> None:
    events = feed_all(SseParser(), [b'event: error\ndata: {"type": "X",\ndata: "message": "boom"}\n\n'])
    assert events == [StreamEvent(kind="error", data={"type": "X", "message": "boom"})]


def test_sse_event_cut_off_before_blank_line_is_discarded() -> None:
    events = feed_all(SseParser(), [b'event: delta\ndata: {"text": "a"}\n\nevent: done\ndata: {}\n'])
    assert [e.kind for e in events] == ["delta"]


def test_sse_unnamed_event_is_message() -> None:
    assert feed_all(SseParser(), [b'data: {"x": 1}\n\n']) == [StreamEvent(kind="message", data={"x": 1})]


@pytest.mark.parametrize(
    "body",
    [
        b"event: delta\ndata: not json\n\n",
        b"event: delta\ndata: [1]\n\n",
        b'event: delta\ndata: {"t": 1}\n\n',
    ],
)
def test_sse_garbled_event_raises(body: bytes) -> None:
    with pytest.raises(StreamProtocolError):
        feed_all(SseParser(), [body])


def test_sse_unbounded_line_raises() -> None:
    parser = SseParser()
    with pytest.raises(StreamProtocolError, match="longer than"):
        for _ in range(20):
            parser.feed(b"x" * 100_000)


@given(st.lists(st.integers(min_value=0, max_value=len(NDJSON_BODY)), max_size=12))
def test_ndjson_any_split(points: list[int]) -> None:
    events = feed_all(NdjsonParser(), cut(NDJSON_BODY, points))
    assert [e.kind for e in events] == ["delta", "delta", "done"]
    assert "".join(e.text for e in events) == "Hellö ✓"
    assert events[-1].data["stopReason"] == "end_turn"


def test_ndjson_last_line_without_newline_is_parsed() -> None:
    events = feed_all(NdjsonParser(), [b'{"type": "done", "stopReason": "max_tokens"}'])
    assert events[0].kind == "done"


def test_ndjson_error_record_gives_the_nested_type_and_message() -> None:
    # The handler's shape: the record's `type` names the event, the error itself is nested.
    line = b'{"type": "error", "error": {"type": "ModelStreamError", "message": "boom"}}\n'
    assert feed_all(NdjsonParser(), [line]) == [
        StreamEvent(kind="error", data={"type": "ModelStreamError", "message": "boom"})
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"{not json}\n",
        b'{"text": "no type"}\n',
        b'{"type": "delta"}\n',
        b'{"type": "error", "message": "flat, not nested"}\n',
        b'{"type": "error", "error": "not an object"}\n',
    ],
)
def test_ndjson_garbled_line_raises(line: bytes) -> None:
    with pytest.raises(StreamProtocolError):
        feed_all(NdjsonParser(), [line])


def test_text_reassembles_split_utf8() -> None:
    body = "naïve ✓ ok".encode()
    events = feed_all(TextParser(), [body[i : i + 1] for i in range(len(body))])
    assert "".join(e.text for e in events) == "naïve ✓ ok"
    assert all(e.kind == "delta" for e in events)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/event-stream; charset=utf-8", SseParser),
        ("Application/X-NDJSON", NdjsonParser),
        ("text/plain; charset=utf-8", TextParser),
        ("", TextParser),
    ],
)
def test_parser_for_content_type(content_type: str, expected: type) -> None:
    assert isinstance(parser_for(content_type), expected)
