"""Checks shared by the fuzz and soak tests: decode a streamed reply per format, and judge an error reply."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.reliability.raw_http import RawReply

# Error types the handler answers with (an invocation ran) and the emulator's own (none ran).
# `bedrock_error` (an unclassified botocore failure) is left out on purpose: with the offline stand-in
# it means the stand-in itself broke (as it did on a lone surrogate in the prompt), which the fuzz
# tests must report.
HANDLER_ERROR_TYPES = frozenset(
    {
        "invalid_request",
        "method_not_allowed",
        "payload_too_large",
        "unsupported_media_type",
        "throttled",
        "bedrock_access_denied",
        "bedrock_model_not_found",
        "bedrock_rejected",
        "bedrock_model_error",
        "bedrock_unavailable",
        "bedrock_timeout",
        "deadline_exceeded",
        # A model stream that fails before its first text delta: the type its in-band event would carry.
        "modelStreamErrorException",
        "bedrock_stream_interrupted",
        "bedrock_stream_incomplete",
    }
)
EMULATOR_ERROR_TYPES = frozenset(
    {
        "BadRequest",
        "RequestEntityTooLargeException",
        "NotFound",
        "NotImplemented",
        "RequestURITooLong",
        "RequestHeaderFieldsTooLarge",
        "HTTPVersionNotSupported",
    }
)


@dataclass(frozen=True)
class Stream:
    """A decoded stream: the text of its deltas and how it ended ("done", "error" or "" for plain text)."""

    text: str
    ending: str


def decode_stream(fmt: str, body: bytes) -> Stream:
    """Split an SSE / NDJSON / text body into its delta text and its final event; AssertionError if the
    body is not well-formed for its format (an event after the final one, a broken line)."""
    raw = body.decode("utf-8")
    if fmt == "text":
        return Stream(raw, "")
    pieces: list[str] = []
    ending = ""
    if fmt == "sse":
        assert raw.endswith("\n\n"), f"SSE body does not end with a blank line: {raw[-80:]!r}"
        events = [block.split("\n", 1) for block in raw[:-2].split("\n\n")]
        parsed = [
            (head.removeprefix("event: "), json.loads(data.removeprefix("data: "))) for head, data in events
        ]
    else:
        assert raw.endswith("\n"), f"NDJSON body does not end with a newline: {raw[-80:]!r}"
        parsed = [(doc["type"], doc) for doc in map(json.loads, raw.splitlines())]
    for index, (name, doc) in enumerate(parsed):
        assert not ending, f"event {name!r} after the final {ending!r} event"
        if name == "delta":
            pieces.append(doc["text"])
        elif name in ("done", "error"):
            ending = name
        else:
            raise AssertionError(f"unknown event {name!r} at {index}")
    return Stream("".join(pieces), ending)


def error_type_of(reply: RawReply, *, head: bool = False) -> str:
    """The `error.type` of a 4xx/5xx JSON reply, asserting its shape exactly."""
    assert reply.status is not None and 400 <= reply.status < 600, reply.status
    assert (reply.header("Content-Type") or "").split(";")[0].strip() == "application/json", reply.headers
    assert reply.complete, "error reply cut off"
    if head:
        return ""
    document = reply.json()
    assert set(document) == {"error"}, document
    assert set(document["error"]) == {"type", "message"}, document
    error_type, message = document["error"]["type"], document["error"]["message"]
    assert isinstance(error_type, str) and error_type and isinstance(message, str), document
    assert "Traceback" not in message and 'File "' not in message, message
    return error_type
