"""The event-stream encoder: golden bytes of PROTOCOL.md §6.4, every header type, botocore as the oracle."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from botocore.eventstream import EventStreamBuffer

from emulator import eventstream
from emulator.eventstream import EventStreamEncodingError, Int8, Int16, Int32, Int64

GOLDEN_CONTENT_BLOCK_STOP = bytes.fromhex(
    "0000007d"
    "00000056"
    "e6680fd6"
    "0b"
    + b":event-type".hex()
    + "070010"
    + b"contentBlockStop".hex()
    + "0d"
    + b":content-type".hex()
    + "070010"
    + b"application/json".hex()
    + "0d"
    + b":message-type".hex()
    + "070005"
    + b"event".hex()
    + b'{"contentBlockIndex":0}'.hex()
    + "b32e4d34"
)


def decode_all(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_worked_example_matches_golden_bytes() -> None:
    frame = eventstream.event_message("contentBlockStop", b'{"contentBlockIndex":0}')
    assert len(frame) == 125
    assert frame == GOLDEN_CONTENT_BLOCK_STOP


def test_json_payload_is_compact() -> None:
    assert (
        eventstream.event_message("contentBlockStop", {"contentBlockIndex": 0}) == GOLDEN_CONTENT_BLOCK_STOP
    )


def test_every_header_type_round_trips_through_botocore() -> None:
    when = dt.datetime(2026, 11, 28, 7, 0, 0, 123000, tzinfo=dt.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = {
        "t": True,
        "f": False,
        "i8": Int8(-7),
        "i16": Int16(-300),
        "i32": Int32(70000),
        "i64": Int64(2**40),
        "plain-int": 5,
        "big-int": 2**33,
        "bytes": b"\x00\x01\xff",
        "str": "héllo",
        "ts": when,
        "uuid": ident,
    }
    [message] = decode_all(eventstream.encode_message(headers, b"payload"))
    assert message.payload == b"payload"
    decoded = message.headers
    assert decoded["t"] is True and decoded["f"] is False
    assert (decoded["i8"], decoded["i16"], decoded["i32"], decoded["i64"]) == (-7, -300, 70000, 2**40)
    assert (decoded["plain-int"], decoded["big-int"]) == (5, 2**33)
    assert decoded["bytes"] == b"\x00\x01\xff"
    assert decoded["str"] == "héllo"
    assert decoded["ts"] == round(when.timestamp() * 1000)
    assert decoded["uuid"] == ident.bytes


def test_header_type_tags_are_the_documented_ones() -> None:
    assert eventstream.encode_header_value(True) == b"\x00"
    assert eventstream.encode_header_value(False) == b"\x01"
    assert eventstream.encode_header_value(Int8(1)) == b"\x02\x01"
    assert eventstream.encode_header_value(Int16(1)) == b"\x03\x00\x01"
    assert eventstream.encode_header_value(Int32(1)) == b"\x04\x00\x00\x00\x01"
    assert eventstream.encode_header_value(Int64(1)) == b"\x05" + (1).to_bytes(8, "big")
    assert eventstream.encode_header_value(b"ab") == b"\x06\x00\x02ab"
    assert eventstream.encode_header_value("ab") == b"\x07\x00\x02ab"


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"x": Int8(200)}, "out of range"),
        ({"x": "a" * 70000}, "exceeds 65535"),
        ({"": "v"}, "1..255"),
        ({"n" * 256: "v"}, "1..255"),
        ({"x": dt.datetime(2026, 1, 1)}, "timezone"),
        ({"x": 1.5}, "unsupported"),
    ],
)
def test_bad_headers_raise(headers: dict, match: str) -> None:
    with pytest.raises(EventStreamEncodingError, match=match):
        eventstream.encode_message(headers)


def test_event_exception_and_error_messages_decode_with_botocore() -> None:
    data = (
        eventstream.event_message("contentBlockDelta", {"delta": {"text": "hé"}, "contentBlockIndex": 0})
        + eventstream.exception_message("modelStreamErrorException", "boom", originalStatusCode=500)
        + eventstream.error_message("InternalFailure", "bad things")
    )
    event, exception, error = decode_all(data)
    assert event.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(event.payload) == {"delta": {"text": "hé"}, "contentBlockIndex": 0}
    assert exception.headers[":message-type"] == "exception"
    assert exception.headers[":exception-type"] == "modelStreamErrorException"
    assert json.loads(exception.payload) == {"message": "boom", "originalStatusCode": 500}
    assert error.headers == {
        ":error-code": "InternalFailure",
        ":error-message": "bad things",
        ":message-type": "error",
    }
    assert error.payload == b""


def test_frames_split_at_every_byte_still_decode() -> None:
    frames = eventstream.event_message("messageStart", {"role": "assistant"}) * 2
    buffer = EventStreamBuffer()
    decoded = []
    for index in range(len(frames)):
        buffer.add_data(frames[index : index + 1])
        decoded.extend(buffer)
    assert [json.loads(m.payload) for m in decoded] == [{"role": "assistant"}] * 2
