"""The Runtime API of a Lambda Managed Instances environment (ConcurrentSlot), through real sockets:
concurrent GET /next, strict correlation by request id, late answers after a timeout."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from streaming_runtime import wire

from emulator.concurrent_slot import ConcurrentSlot
from emulator.invocations import TIMED_OUT, BodyChunk, FunctionFailed, Invocation, ResponseEnd, State
from emulator.runtime_api import RuntimeApiServer

ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"
NEXT = f"GET {wire.PATH_NEXT} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


@pytest.fixture
def api() -> Iterator[RuntimeApiServer]:
    server = RuntimeApiServer(slot=ConcurrentSlot(2), function_arn=ARN)
    server.serve_in_thread("test-lmi-runtime-api")
    try:
        yield server
    finally:
        server.slot.close()
        server.shutdown()
        server.server_close()


def _read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", "0")))


def _exchange(server: RuntimeApiServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        return _read_reply(sock)


def _post(server: RuntimeApiServer, path: str, body: bytes = b"{}") -> tuple[int, str]:
    raw = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    status, _, reply = _exchange(server, raw)
    return status, json.loads(reply).get("errorType", "")


class NextCall:
    """A GET /next in flight on a connection of its own; `reply` once answered."""

    def __init__(self, server: RuntimeApiServer) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.sock.sendall(NEXT)
        self.reply: tuple[int, dict[str, str], bytes] | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):  # a hung-up or refused /next
            self.reply = _read_reply(self.sock)

    def request_id(self, *, timeout: float = 10.0) -> str:
        self.thread.join(timeout)
        assert self.reply is not None and self.reply[0] == 200, self.reply
        return self.reply[1]["lambda-runtime-aws-request-id"]


def _wait_waiting(server: RuntimeApiServer, count: int) -> None:
    deadline = time.monotonic() + 10
    while server.slot.waiting != count:
        assert time.monotonic() < deadline, f"{server.slot.waiting} GET /next waiting, not {count}"
        time.sleep(0.01)


def _assign(server: RuntimeApiServer, count: int) -> dict[str, Invocation]:
    invocations = [Invocation(payload=json.dumps({"n": n}).encode(), timeout_s=30) for n in range(count)]
    for invocation in invocations:
        server.slot.assign(invocation)
    return {invocation.request_id: invocation for invocation in invocations}


def _body(invocation: Invocation) -> bytes:
    parts = []
    while not isinstance(event := invocation.next_event(timeout=5), ResponseEnd | FunctionFailed | None):
        if isinstance(event, BodyChunk):
            parts.append(event.data)
    return b"".join(parts)


def test_next_beyond_capacity_waits_for_a_finished_invocation(api: RuntimeApiServer) -> None:
    calls = [NextCall(api) for _ in range(3)]
    _wait_waiting(api, 3)
    invocations = _assign(api, 3)
    time.sleep(0.3)  # time for a wrong third delivery to show up
    answered = [call for call in calls if call.reply is not None]
    assert len(answered) == 2, "a third GET /next got an invocation while two were unfinished"
    first, second = (call.request_id() for call in answered)
    assert first != second and {first, second} < set(invocations)
    assert api.slot.waiting == 1
    assert _post(api, wire.response_path(second), b'{"done": 2}') == (202, "")
    third = next(call for call in calls if call not in answered).request_id()
    assert third not in (first, second)
    assert invocations[first].state is State.RUNNING


def test_answers_are_correlated_by_request_id_in_any_order(api: RuntimeApiServer) -> None:
    calls = [NextCall(api), NextCall(api)]
    _wait_waiting(api, 2)
    invocations = _assign(api, 2)
    ids = [call.request_id() for call in calls]
    for request_id in reversed(ids):
        assert _post(api, wire.response_path(request_id), request_id.encode()) == (202, "")
    for request_id in ids:
        assert _body(invocations[request_id]) == request_id.encode()


def test_unknown_and_finished_request_ids_are_400(api: RuntimeApiServer) -> None:
    call = NextCall(api)
    _assign(api, 1)
    request_id = call.request_id()
    assert _post(api, wire.response_path("not-an-id")) == (400, "InvalidRequestID")
    assert _post(api, wire.response_path(request_id)) == (202, "")
    assert _post(api, wire.response_path(request_id)) == (400, "InvalidRequestID")
    assert _post(api, wire.error_path(request_id)) == (400, "InvalidRequestID")


def test_late_response_and_error_after_a_timeout_are_410(api: RuntimeApiServer) -> None:
    calls = [NextCall(api), NextCall(api)]
    invocations = _assign(api, 2)
    timed_out, other = (call.request_id() for call in calls)
    invocations[timed_out].fail(FunctionFailed(TIMED_OUT, "Task timed out after 30.00 seconds"))
    assert _post(api, wire.response_path(timed_out)) == (410, "InvokeTimeout")
    assert _post(api, wire.error_path(timed_out)) == (410, "InvokeTimeout")
    assert _post(api, wire.response_path(other), b"fine") == (202, "")
    assert _body(invocations[other]) == b"fine"


def test_a_stream_cut_by_the_timeout_is_read_to_its_end_then_410(api: RuntimeApiServer) -> None:
    call = NextCall(api)
    invocation = next(iter(_assign(api, 1).values()))
    request_id = call.request_id()
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        sock.sendall(
            f"POST {wire.response_path(request_id)} HTTP/1.1\r\nHost: x\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nfirst\r\n".encode()
        )
        assert invocation.next_event(timeout=5) is not None  # the response started
        invocation.fail(FunctionFailed(TIMED_OUT, "Task timed out after 30.00 seconds"))
        sock.sendall(b"6\r\nsecond\r\n5\r\nthird\r\n0\r\n\r\n")
        status, _, reply = _read_reply(sock)
        assert (status, json.loads(reply)["errorType"]) == (410, "InvokeTimeout")
        sock.sendall(NEXT)  # the connection stays usable: the body was read to its end
        next_call_reply: list[int] = []
        reader = threading.Thread(target=lambda: next_call_reply.append(_read_reply(sock)[0]), daemon=True)
        reader.start()
        _assign(api, 1)
        reader.join(10)
        assert next_call_reply == [200]


def test_a_next_whose_runtime_hung_up_does_not_swallow_an_invocation(api: RuntimeApiServer) -> None:
    gone = NextCall(api)
    _wait_waiting(api, 1)
    gone.sock.shutdown(socket.SHUT_RDWR)  # as a dead worker's connection (close() waits for the reader)
    invocations = _assign(api, 1)
    live = NextCall(api)
    assert live.request_id() in invocations


def test_init_error_fails_every_waiting_invocation_and_is_403_after_a_delivery(api: RuntimeApiServer) -> None:
    pending = _assign(api, 3)
    payload = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": "no module"}).encode()
    assert _post(api, wire.PATH_INIT_ERROR, payload) == (202, "")
    for invocation in pending.values():
        failure = invocation.next_event(timeout=5)
        assert isinstance(failure, FunctionFailed) and failure.error_type == "Runtime.ImportModuleError"
    api.slot.reset()  # a fresh runtime process
    call = NextCall(api)
    _assign(api, 1)
    call.request_id()
    assert _post(api, wire.PATH_INIT_ERROR, payload) == (403, "InvalidStateTransition")
