"""The Lambda API's bytes and rules without a server: golden event-stream frames (decoded by botocore's
own event-stream parser with the `lambda` service model), error bodies checked against the model's
error shapes, and the function-name rules."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.eventstream import EventStream, EventStreamBuffer
from botocore.parsers import EventStreamJSONParser

from emulator import lambda_api_responses as responses
from emulator.lambda_api_names import check_function

# Built by hand from the framing rules (PROTOCOL.md §6): total and header lengths, the prelude CRC,
# three string headers (name length, name, type 7, value length, value), the payload, the message CRC.
GOLDEN_PAYLOAD_CHUNK = bytes.fromhex(
    "0000006f"  # total: 12 + 90 + 5 + 4
    "0000005a"  # headers: 27 + 41 + 22
    "f5fe871f"
    "0b" + b":event-type".hex() + "07000c" + b"PayloadChunk".hex()
    + "0d" + b":content-type".hex() + "070018" + b"application/octet-stream".hex()
    + "0d" + b":message-type".hex() + "070005" + b"event".hex()
    + b"hello".hex()
    + "29e71260"
)  # fmt: skip
GOLDEN_INVOKE_COMPLETE = bytes.fromhex(
    "00000066"  # total: 12 + 84 + 2 + 4
    "00000054"  # headers: 29 + 33 + 22
    "1f56c869"
    "0b" + b":event-type".hex() + "07000e" + b"InvokeComplete".hex()
    + "0d" + b":content-type".hex() + "070010" + b"application/json".hex()
    + "0d" + b":message-type".hex() + "070005" + b"event".hex()
    + b"{}".hex()
    + "7006d467"
)  # fmt: skip


def lambda_model() -> Any:
    return botocore.session.get_session().get_service_model("lambda")


class _RawStream:
    """What botocore's EventStream reads: an HTTP body's `stream()`, here in small pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Iterator[bytes]:
        for at in range(0, len(self.data), 7):
            yield self.data[at : at + 7]

    def close(self) -> None:
        pass


def botocore_events(data: bytes) -> list[dict[str, Any]]:
    """InvokeWithResponseStream's EventStream as boto3 yields it, decoded by botocore from `data`."""
    operation = lambda_model().operation_model("InvokeWithResponseStream")
    shape = operation.output_shape.members["EventStream"]
    return list(EventStream(_RawStream(data), shape, EventStreamJSONParser(), "InvokeWithResponseStream"))


def test_golden_payload_chunk() -> None:
    assert responses.payload_chunk(b"hello") == GOLDEN_PAYLOAD_CHUNK
    assert zlib.crc32(GOLDEN_PAYLOAD_CHUNK[:8]) == int.from_bytes(GOLDEN_PAYLOAD_CHUNK[8:12], "big")
    assert zlib.crc32(GOLDEN_PAYLOAD_CHUNK[:-4]) == int.from_bytes(GOLDEN_PAYLOAD_CHUNK[-4:], "big")


def test_golden_invoke_complete() -> None:
    assert responses.invoke_complete() == GOLDEN_INVOKE_COMPLETE
    assert zlib.crc32(GOLDEN_INVOKE_COMPLETE[:8]) == int.from_bytes(GOLDEN_INVOKE_COMPLETE[8:12], "big")
    assert zlib.crc32(GOLDEN_INVOKE_COMPLETE[:-4]) == int.from_bytes(GOLDEN_INVOKE_COMPLETE[-4:], "big")


def test_botocore_decodes_the_golden_frames_as_the_lambda_model_defines_them() -> None:
    assert botocore_events(GOLDEN_PAYLOAD_CHUNK + GOLDEN_INVOKE_COMPLETE) == [
        {"PayloadChunk": {"Payload": b"hello"}},
        {"InvokeComplete": {}},
    ]
    message = next(iter(_buffer(GOLDEN_PAYLOAD_CHUNK)))
    assert message.headers == {
        ":event-type": "PayloadChunk",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }


def test_invoke_complete_carries_only_the_members_given() -> None:
    frame = responses.invoke_complete(error_code="modelStreamErrorException", error_details="it broke")
    with_log = responses.invoke_complete(log_result="U1RBUlQ=")
    assert botocore_events(frame + with_log) == [
        {"InvokeComplete": {"ErrorCode": "modelStreamErrorException", "ErrorDetails": "it broke"}},
        {"InvokeComplete": {"LogResult": "U1RBUlQ="}},
    ]
    assert json.loads(next(iter(_buffer(frame))).payload) == {
        "ErrorCode": "modelStreamErrorException",
        "ErrorDetails": "it broke",
    }


def test_payload_bytes_are_relayed_unchanged_and_split_only_past_the_event_limit() -> None:
    data = bytes(range(256)) * 3
    assert botocore_events(b"".join(responses.payload_chunks(data))) == [{"PayloadChunk": {"Payload": data}}]
    big = b"x" * (responses.MAX_PAYLOAD_CHUNK_BYTES + 10)
    frames = responses.payload_chunks(big)
    assert len(frames) == 2
    assert b"".join(m.payload for frame in frames for m in _buffer(frame)) == big


def _buffer(data: bytes) -> EventStreamBuffer:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return buffer


# --- errors against the model ----------------------------------------------------------------------

ERRORS = [
    responses.ResourceNotFoundError("Function not found: x"),
    responses.InvalidRequestContentError("Could not parse request body into json"),
    responses.InvalidParameterValueError("bad"),
    responses.RequestTooLargeError("too large"),
    responses.TooManyRequestsError("Rate Exceeded."),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: error.error_type)
def test_error_bodies_use_the_models_status_and_members(error: responses.LambdaApiError) -> None:
    shape = lambda_model().shape_for(error.error_type)
    assert shape.metadata["error"]["httpStatusCode"] == error.status
    body = json.loads(error.body())
    assert set(body) <= set(shape.members) and body["Type"] == "User"
    assert body[error.message_member] == str(error)


def test_every_modelled_error_is_one_of_the_operations() -> None:
    operation = lambda_model().operation_model("InvokeWithResponseStream")
    names = {shape.name for shape in operation.error_shapes}
    assert {error.error_type for error in ERRORS} <= names


# --- function names --------------------------------------------------------------------------------

SERVED = "my-fn"


@pytest.mark.parametrize(
    ("label", "query"),
    [
        ("my-fn", ""),
        ("function", ""),
        ("my-fn%3A%24LATEST", ""),  # percent-encoded, as botocore sends the label
        ("arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Amy-fn", ""),
        ("000000000000%3Afunction%3Amy-fn", ""),
        ("my-fn", "Qualifier=%24LATEST"),
        ("my-fn:$LATEST", "Qualifier=%24LATEST"),
        ("my-fn", "Qualifier="),
    ],
)
def test_names_of_the_served_function(label: str, query: str) -> None:
    check_function(label, query, function_name=SERVED, region="eu-west-1")


@pytest.mark.parametrize(
    ("label", "query", "error", "message"),
    [
        (
            "other",
            "",
            responses.ResourceNotFoundError,
            "arn:aws:lambda:eu-west-1:000000000000:function:other",
        ),
        ("my-fn:1", "", responses.ResourceNotFoundError, "function:my-fn:1"),
        ("my-fn", "Qualifier=live", responses.ResourceNotFoundError, "function:my-fn:live"),
        ("my-fn:$LATEST", "Qualifier=live", responses.InvalidParameterValueError, "does not match"),
        (
            "arn:aws:lambda:us-east-1:000000000000:function:my-fn",
            "",
            responses.ResourceNotFoundError,
            "us-east-1",
        ),
        ("111122223333:function:my-fn", "", responses.ResourceNotFoundError, "111122223333"),
        ("my fn", "", responses.ValidationError, "regular expression pattern"),
        ("a" * 65, "", responses.ValidationError, "less than or equal to 64"),
        ("arn:aws:lambda:eu-west-1:000000000000:function:" + "a" * 220, "", responses.ValidationError, "256"),
    ],
)
def test_names_of_anything_else(
    label: str, query: str, error: type[responses.LambdaApiError], message: str
) -> None:
    with pytest.raises(error) as raised:
        check_function(label, query, function_name=SERVED, region="eu-west-1")
    assert message in str(raised.value)
