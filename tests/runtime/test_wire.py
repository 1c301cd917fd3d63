"""Golden-byte tests for the wire format module (encoders and decoders checked against fixed bytes)."""

import base64
import io
import json

import pytest
from streaming_runtime import wire


def test_paths() -> None:
    assert wire.PATH_NEXT == "/2018-06-01/runtime/invocation/next"
    assert wire.response_path("abc") == "/2018-06-01/runtime/invocation/abc/response"
    assert wire.error_path("abc") == "/2018-06-01/runtime/invocation/abc/error"
    assert wire.PATH_INIT_ERROR == "/2018-06-01/runtime/init/error"


def test_encode_chunk_golden() -> None:
    assert wire.encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert wire.encode_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"


def test_encode_chunk_refuses_empty() -> None:
    with pytest.raises(ValueError):
        wire.encode_chunk(b"")


def test_last_chunk_golden() -> None:
    assert wire.encode_last_chunk() == b"0\r\n\r\n"
    assert wire.encode_last_chunk({"A": "1", "B": "two\r\nlines"}) == b"0\r\nA: 1\r\nB: two  lines\r\n\r\n"


def test_prelude_golden() -> None:
    data = wire.encode_prelude(201, {"content-type": "text/plain"}, ["a=1; Path=/"])
    assert data == (
        b'{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1; Path=/"]}' + b"\x00" * 8
    )


def test_prelude_never_contains_nul_in_json() -> None:
    data = wire.encode_prelude(200, {"x": "a\x00b"})
    assert data[:-8].find(b"\x00") == -1


def test_split_prelude() -> None:
    assert wire.split_prelude(b'{"statusCode":200}\x00\x00\x00') is None
    prelude, rest = wire.split_prelude(b'{"statusCode":404,"headers":{"a":"b"}}' + b"\x00" * 8 + b"body")
    assert prelude == wire.Prelude(404, {"a": "b"}, ())
    assert rest == b"body"
    prelude, _ = wire.split_prelude(b"{}" + b"\x00" * 8)
    assert prelude.status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"not json",
        b'{"statusCode":"200"}',
        b'{"statusCode":99}',
        b'{"headers":{"a":1}}',
        b'{"cookies":"a=b"}',
        b"\xff\xfe",
        b'{"statusCode":true}',
    ],
)
def test_bad_prelude(raw: bytes) -> None:
    with pytest.raises(wire.PreludeError):
        wire.split_prelude(raw + b"\x00" * 8)


def test_error_trailers_golden() -> None:
    payload = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
    trailers = wire.error_trailers(payload)
    assert trailers == {
        "Lambda-Runtime-Function-Error-Type": "ValueError",
        "Lambda-Runtime-Function-Error-Body": base64.b64encode(
            b'{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}'
        ).decode(),
    }
    decoded = wire.decode_error_trailers({k.lower(): v for k, v in trailers.items()})
    assert decoded == wire.StreamError("ValueError", payload)


def test_decode_error_trailers_clean_and_garbled() -> None:
    assert wire.decode_error_trailers({}) is None
    garbled = wire.decode_error_trailers({"lambda-runtime-function-error-body": "%%%"})
    assert garbled == wire.StreamError("Runtime.Unknown", {"raw": "%%%"})


def test_iter_chunked_with_trailers() -> None:
    raw = b"5\r\nhello\r\n1;ext=1\r\n \r\n0\r\nX-One: 1\r\nlambda-runtime-function-error-type: E\r\n\r\nNEXT"
    reader = io.BufferedReader(io.BytesIO(raw))  # type: ignore[arg-type]
    body = wire.iter_chunked(reader)
    assert list(body) == [b"hello", b" "]
    assert body.complete
    assert body.trailers == {"x-one": "1", "lambda-runtime-function-error-type": "E"}
    assert reader.read() == b"NEXT"


@pytest.mark.parametrize(
    "raw",
    [b"", b"5\r\nhel", b"zz\r\n", b"5\r\nhelloXX", b"-1\r\n", b"0\r\nbad trailer\r\n\r\n", b"5\r\nhello\r\n"],
)
def test_iter_chunked_errors(raw: bytes) -> None:
    with pytest.raises(wire.ChunkedEncodingError):
        list(wire.iter_chunked(io.BufferedReader(io.BytesIO(raw))))  # type: ignore[arg-type]


def test_round_trip_binary() -> None:
    pieces = [bytes([i % 256]) * (i + 1) for i in range(300)]
    raw = b"".join(wire.encode_chunk(p) for p in pieces) + wire.encode_last_chunk(
        wire.error_trailers({"errorType": "E", "errorMessage": "é"})
    )
    body = wire.iter_chunked(io.BufferedReader(io.BytesIO(raw)))  # type: ignore[arg-type]
    assert list(body) == pieces
    assert json.loads(base64.b64decode(body.trailers["lambda-runtime-function-error-body"])) == {
        "errorType": "E",
        "errorMessage": "é",
    }
