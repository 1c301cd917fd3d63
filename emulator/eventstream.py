"""Encoder for the AWS event-stream binary framing (`application/vnd.amazon.eventstream`, PROTOCOL.md §6)."""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

CONTENT_TYPE = "application/vnd.amazon.eventstream"

# Header value type tags (PROTOCOL.md §6.2).
_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)

# The limits botocore enforces when decoding; encoding past them would only produce frames it rejects.
MAX_HEADERS_BYTES = 128 * 1024
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024


class EventStreamEncodingError(ValueError):
    """A header or payload that cannot be framed (too long, wrong type, out of range)."""


@dataclass(frozen=True, slots=True)
class Int8:
    """A header value sent as a one-byte signed integer (type 2)."""

    value: int


@dataclass(frozen=True, slots=True)
class Int16:
    """A header value sent as a two-byte signed integer (type 3)."""

    value: int


@dataclass(frozen=True, slots=True)
class Int32:
    """A header value sent as a four-byte signed integer (type 4); plain ints default to this."""

    value: int


@dataclass(frozen=True, slots=True)
class Int64:
    """A header value sent as an eight-byte signed integer (type 5)."""

    value: int


HeaderValue = bool | int | Int8 | Int16 | Int32 | Int64 | bytes | str | dt.datetime | uuid.UUID

_INT_FORMATS = {Int8: (_BYTE, ">b"), Int16: (_SHORT, ">h"), Int32: (_INT, ">i"), Int64: (_LONG, ">q")}


def encode_header_value(value: HeaderValue) -> bytes:
    """The type tag and encoded value of one header."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return bytes([_TRUE if value else _FALSE])
    if isinstance(value, int):
        value = Int32(value) if -(2**31) <= value < 2**31 else Int64(value)
    if isinstance(value, Int8 | Int16 | Int32 | Int64):
        tag, fmt = _INT_FORMATS[type(value)]
        try:
            return bytes([tag]) + struct.pack(fmt, value.value)
        except struct.error:
            raise EventStreamEncodingError(f"{value!r} is out of range") from None
    if isinstance(value, str):
        return _length_prefixed(_STRING, value.encode("utf-8"))
    if isinstance(value, bytes):
        return _length_prefixed(_BYTES, value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise EventStreamEncodingError("timestamp headers need a timezone-aware datetime")
        return bytes([_TIMESTAMP]) + struct.pack(">q", round(value.timestamp() * 1000))
    if isinstance(value, uuid.UUID):
        return bytes([_UUID]) + value.bytes
    raise EventStreamEncodingError(f"unsupported header value type {type(value).__name__}")


def _length_prefixed(tag: int, data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise EventStreamEncodingError(f"header value of {len(data)} bytes exceeds 65535")
    return bytes([tag]) + struct.pack(">H", len(data)) + data


def encode_headers(headers: Mapping[str, HeaderValue]) -> bytes:
    """The header block: for each header a one-byte name length, the name, then the typed value."""
    parts = []
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        if not 0 < len(raw_name) <= 255:
            raise EventStreamEncodingError(f"header name {name!r} must be 1..255 bytes")
        parts.append(bytes([len(raw_name)]) + raw_name + encode_header_value(value))
    return b"".join(parts)


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One complete message: prelude (lengths + CRC), headers, payload, message CRC."""
    header_block = encode_headers(headers)
    if len(header_block) > MAX_HEADERS_BYTES or len(payload) > MAX_PAYLOAD_BYTES:
        raise EventStreamEncodingError("headers or payload exceed the event-stream limits")
    total = 12 + len(header_block) + len(payload) + 4
    lengths = struct.pack(">II", total, len(header_block))
    body = lengths + struct.pack(">I", zlib.crc32(lengths)) + header_block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _json(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_message(event_type: str, payload: Mapping[str, object] | bytes) -> bytes:
    """A modelled event (`:message-type` event) whose payload is the event structure as JSON."""
    headers: dict[str, HeaderValue] = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, payload if isinstance(payload, bytes) else _json(payload))


def exception_message(exception_type: str, message: str, **members: object) -> bytes:
    """A modelled in-stream exception (`:message-type` exception), payload `{"message", ...members}`."""
    headers: dict[str, HeaderValue] = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, _json({"message": message, **members}))


def error_message(code: str, message: str) -> bytes:
    """An unmodelled error (`:message-type` error) carried in headers with an empty payload."""
    headers: dict[str, HeaderValue] = {
        ":error-code": code,
        ":error-message": message,
        ":message-type": "error",
    }
    return encode_message(headers)
