"""The Runtime API and the invocation state machine, driven through real sockets by a raw-socket runtime."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from streaming_runtime import wire

from emulator.invocations import (
    BodyChunk,
    FunctionFailed,
    Invocation,
    ResponseEnd,
    ResponseEvent,
    ResponseStart,
)
from emulator.runtime_api import RuntimeApiServer
from emulator.slot import InvocationSlot

ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


@pytest.fixture
def api() -> Iterator[RuntimeApiServer]:
    server = RuntimeApiServer(slot=InvocationSlot(), function_arn=ARN)
    server.serve_in_thread("test-runtime-api")
    try:
        yield server
    finally:
        server.slot.close()
        server.shutdown()
        server.server_close()


def _exchange(server: RuntimeApiServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        reader = sock.makefile("rb")
        status = int(reader.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, reader.read(int(headers.get("content-length", "0")))


def _post(server: RuntimeApiServer, path: str, body: bytes, *headers: str) -> tuple[int, dict[str, object]]:
    head = "".join(f"{h}\r\n" for h in headers)
    raw = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body
    status, _, reply = _exchange(server, raw)
    return status, json.loads(reply)


def _deliver(
    server: RuntimeApiServer, payload: bytes = b'{"k":1}'
) -> tuple[Invocation, dict[str, str], bytes]:
    invocation = Invocation(payload=payload, timeout_s=30)
    server.slot.assign(invocation)
    status, headers, body = _exchange(server, f"GET {wire.PATH_NEXT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 200
    return invocation, headers, body


def _events(invocation: Invocation) -> list[ResponseEvent]:
    events: list[ResponseEvent] = []
    while (event := invocation.next_event(timeout=5)) is not None:
        events.append(event)
        if isinstance(event, ResponseEnd | FunctionFailed):
            break
    return events


def test_next_headers_and_body(api: RuntimeApiServer) -> None:
    invocation, headers, body = _deliver(api, b'{"hello":"world"}')
    assert body == b'{"hello":"world"}'
    assert headers["lambda-runtime-aws-request-id"] == invocation.request_id
    assert abs(int(headers["lambda-runtime-deadline-ms"]) - invocation.deadline_ms) == 0
    assert headers["lambda-runtime-invoked-function-arn"] == ARN
    assert headers["lambda-runtime-trace-id"].startswith("Root=1-")
    assert headers["lambda-runtime-invocation-id"] == invocation.invocation_id
    assert headers["content-type"] == "application/json"


def test_streaming_post_with_two_trailer_lines_keeps_trailers(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    error_body = base64.b64encode(json.dumps({"errorType": "E", "errorMessage": "mid"}).encode()).decode()
    raw = (
        f"POST {wire.response_path(invocation.request_id)} HTTP/1.1\r\nHost: x\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type\r\nTrailer: Lambda-Runtime-Function-Error-Body\r\n"
        "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1a\r\n" + "x" * 26 + "\r\n"
        "0\r\nLambda-Runtime-Function-Error-Type: E\r\n"
        f"Lambda-Runtime-Function-Error-Body: {error_body}\r\n\r\n"
    ).encode()
    status, _, reply = _exchange(api, raw)
    assert (status, json.loads(reply)) == (202, {"status": "OK"})
    events = _events(invocation)
    assert events[0] == ResponseStart(content_type="text/plain", streaming=True)
    assert events[1:3] == [BodyChunk(b"hello"), BodyChunk(b"x" * 26)]
    end = events[3]
    assert isinstance(end, ResponseEnd) and end.error is not None
    assert end.error.error_type == "E" and end.error.body["errorMessage"] == "mid"


def test_unknown_request_id_is_400(api: RuntimeApiServer) -> None:
    _deliver(api)
    status, reply = _post(api, wire.response_path("not-an-id"), b"{}")
    assert (status, reply["errorType"]) == (400, "InvalidRequestID")


def test_duplicate_response_is_403_and_error_after_response_is_403(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    assert _post(api, wire.response_path(invocation.request_id), b'{"a":1}')[0] == 202
    status, reply = _post(api, wire.response_path(invocation.request_id), b'{"a":2}')
    assert (status, reply["errorType"]) == (403, "InvalidStateTransition")
    status, reply = _post(api, wire.error_path(invocation.request_id), b"{}")
    assert (status, reply["errorType"]) == (403, "InvalidStateTransition")


def test_previous_request_id_after_next_invocation_is_400(api: RuntimeApiServer) -> None:
    first, _, _ = _deliver(api)
    assert _post(api, wire.response_path(first.request_id), b"{}")[0] == 202
    _deliver(api)
    status, reply = _post(api, wire.response_path(first.request_id), b"{}")
    assert (status, reply["errorType"]) == (400, "InvalidRequestID")


def test_invalid_response_mode_is_400_and_fails_the_invocation(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    status, reply = _post(
        api, wire.response_path(invocation.request_id), b"x", "Lambda-Runtime-Function-Response-Mode: bogus"
    )
    assert (status, reply["errorType"]) == (400, "InvalidFunctionResponseMode")
    failure = _events(invocation)[0]
    assert isinstance(failure, FunctionFailed) and failure.error_type == "Runtime.InvalidResponseModeHeader"


def test_buffered_response_over_6mb_is_413(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    status, reply = _post(
        api, wire.response_path(invocation.request_id), b"x" * (wire.MAX_BUFFERED_RESPONSE_BYTES + 1)
    )
    assert (status, reply["errorType"]) == (413, "RequestEntityTooLarge")
    failure = _events(invocation)[0]
    assert isinstance(failure, FunctionFailed) and failure.error_type == "Function.ResponseSizeTooLarge"


def test_buffered_response_at_the_limit_is_accepted(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    body = b"y" * wire.MAX_BUFFERED_RESPONSE_BYTES
    assert _post(api, wire.response_path(invocation.request_id), body)[0] == 202
    events = _events(invocation)
    assert b"".join(e.data for e in events if isinstance(e, BodyChunk)) == body


def test_error_post_carries_type_and_message(api: RuntimeApiServer) -> None:
    invocation, _, _ = _deliver(api)
    payload = {"errorType": "ValueError", "errorMessage": "bad", "stackTrace": ["frame"]}
    status, _ = _post(api, wire.error_path(invocation.request_id), json.dumps(payload).encode())
    assert status == 202
    failure = _events(invocation)[0]
    assert failure == FunctionFailed("ValueError", "bad", payload)


def test_init_error_fails_the_pending_invocation_and_is_403_after_start(api: RuntimeApiServer) -> None:
    pending = Invocation(payload=b"{}", timeout_s=30)
    api.slot.assign(pending)
    payload = {"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'x'"}
    assert _post(api, wire.PATH_INIT_ERROR, json.dumps(payload).encode())[0] == 202
    failure = _events(pending)[0]
    assert isinstance(failure, FunctionFailed) and failure.error_type == "Runtime.ImportModuleError"
    _deliver(api)
    status, reply = _post(api, wire.PATH_INIT_ERROR, b"{}")
    assert (status, reply["errorType"]) == (403, "InvalidStateTransition")


def test_next_may_arrive_before_the_previous_streaming_post(api: RuntimeApiServer) -> None:
    first, _, _ = _deliver(api)
    next_reply: list[tuple[int, dict[str, str], bytes]] = []
    early_next = threading.Thread(
        target=lambda: next_reply.append(
            _exchange(api, f"GET {wire.PATH_NEXT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        )
    )
    early_next.start()  # long-polls while `first` is still unanswered
    raw = (
        f"POST {wire.response_path(first.request_id)} HTTP/1.1\r\nHost: x\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
    ).encode()
    assert _exchange(api, raw)[0] == 202
    assert [e for e in _events(first) if isinstance(e, BodyChunk)] == [BodyChunk(b"abc")]
    second = Invocation(payload=b'{"n":2}', timeout_s=30)
    api.slot.assign(second)
    early_next.join(timeout=10)
    assert next_reply and next_reply[0][2] == b'{"n":2}'
    assert next_reply[0][1]["lambda-runtime-aws-request-id"] == second.request_id


def test_unknown_route_is_404(api: RuntimeApiServer) -> None:
    status, reply = _post(api, "/2018-06-01/runtime/whatever", b"")
    assert (status, reply["errorType"]) == (404, "NotFound")
