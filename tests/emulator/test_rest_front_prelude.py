"""How each front reads a streamed http-integration-response prelude, over real HTTP: a relay in a
server on 127.0.0.1 replays a response fed to an invocation. The REST front takes `multiValueHeaders`
and needs the delimiter in the first 16 KB; the Function URL front does as it always did."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from streaming_runtime import wire

from emulator.http_base import EmulatorHTTPServer, NoDelayHandler
from emulator.invocations import TIMED_OUT, FunctionFailed, Invocation
from emulator.relay import FUNCTION_URL_PRELUDE, PreludeRules, StreamRelay, send_failure
from emulator.rest_front import REST_PRELUDE, send_integration_failure
from tests.support.http_client import Response, request

NUL8 = wire.PRELUDE_DELIMITER


class _Replay(NoDelayHandler):
    """POST /<front>: relays the next queued invocation with that front's rules."""

    queue: ClassVar[list[Invocation]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            invocation = self.queue.pop(0)
        rest = self.path == "/rest"
        StreamRelay(
            self,
            invocation,
            on_failure=send_integration_failure if rest else send_failure,
            prelude_rules=REST_PRELUDE if rest else FUNCTION_URL_PRELUDE,
        ).run()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = EmulatorHTTPServer(("127.0.0.1", 0), _Replay)
    httpd.serve_in_thread("prelude-replay")
    try:
        yield f"http://127.0.0.1:{httpd.port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def replay(server: str, front: str, *chunks: bytes, failure: FunctionFailed | None = None) -> Response:
    invocation = Invocation(payload=b"{}", timeout_s=5, request_id=f"req-{front}")
    invocation.mark_delivered()
    if failure is not None:
        invocation.fail(failure)
    else:
        invocation.begin_response(content_type=wire.CONTENT_TYPE_HTTP_INTEGRATION, streaming=True)
        for chunk in chunks:
            invocation.send_chunk(chunk)
        invocation.end_response()
    with _Replay.lock:
        _Replay.queue.append(invocation)
    return request(server, f"/{front}", body=b"{}")


def prelude(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode() + NUL8


def test_multi_value_headers_merge_and_win(server: str) -> None:
    document = {
        "statusCode": 200,
        "headers": {"content-type": "text/plain", "x-one": "single", "x-both": "from-headers"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"], "x-list": ["a", "b", "c"]},
        "cookies": ["c=1"],
    }
    rest = replay(server, "rest", prelude(document), b"hello")
    assert (rest.status, rest.body, rest.header("content-type")) == (200, b"hello", "text/plain")
    assert rest.header_all("x-one") == ["single"]
    assert rest.header_all("x-both") == ["m1", "m2"]  # multiValueHeaders win over headers
    assert rest.header_all("x-list") == ["a", "b", "c"]
    assert rest.header_all("set-cookie") == ["c=1"]
    function_url = replay(server, "function-url", prelude(document), b"hello")
    assert function_url.header_all("x-both") == ["from-headers"]  # a Function URL ignores them
    assert function_url.header_all("x-list") == []


def test_a_prelude_split_over_chunks_and_one_without_a_body(server: str) -> None:
    whole = prelude({"statusCode": 202, "multiValueHeaders": {"x-m": ["1", "2"]}})
    split = replay(server, "rest", whole[:5], whole[5:12], whole[12:] + b"body")
    assert (split.status, split.header_all("x-m"), split.body) == (202, ["1", "2"], b"body")
    only = replay(
        server, "rest", json.dumps({"statusCode": 204, "multiValueHeaders": {"x-m": ["z"]}}).encode()
    )
    assert (only.status, only.header_all("x-m"), only.body) == (204, ["z"], b"")


@pytest.mark.parametrize(
    "chunks",
    [
        [prelude({"multiValueHeaders": {"x": "not-a-list"}})],
        [prelude({"multiValueHeaders": ["x"]})],
        [prelude({"multiValueHeaders": {"x": [1]}})],
        [b"{not json" + NUL8 + b"body"],
        [prelude({"headers": {"x-big": "b" * (16 * 1024)}})],  # the delimiter ends past 16 KB
        [b"x" * (16 * 1024 + 1)],  # no delimiter in the first 16 KB
    ],
)
def test_an_unreadable_prelude_is_500_behind_the_rest_api(server: str, chunks: list[bytes]) -> None:
    response = replay(server, "rest", *chunks)
    assert response.status == 500
    assert response.json() == {
        "error": {"type": "gateway_error", "message": "Internal server error", "code": "gateway_error"}
    }


def test_the_16_kb_limit_is_the_rest_apis_only(server: str) -> None:
    headers = {"x-big": "b" * (16 * 1024)}
    assert replay(server, "function-url", prelude({"headers": headers}), b"ok").body == b"ok"
    fits = {"headers": {"x-big": "b" * (16 * 1024 - 40)}}
    assert len(prelude(fits)) <= 16 * 1024
    assert replay(server, "rest", prelude(fits), b"ok").body == b"ok"


@pytest.mark.parametrize(
    ("failure", "status", "error_type"),
    [
        (FunctionFailed(TIMED_OUT, "Task timed out after 5.00 seconds"), 504, "integration_timeout"),
        (FunctionFailed("Runtime.ExitError", "exit status 3"), 502, "gateway_error"),
        (FunctionFailed("Function.Custom", "boom", {"stackTrace": ["secret frame"]}), 502, "gateway_error"),
    ],
)
def test_failures_before_the_first_byte(
    server: str, failure: FunctionFailed, status: int, error_type: str
) -> None:
    response = replay(server, "rest", failure=failure)
    assert (response.status, response.json()["error"]["type"]) == (status, error_type)
    assert b"secret" not in response.body and failure.message.encode() not in response.body
    function_url = replay(server, "function-url", failure=failure)
    assert (function_url.status, function_url.json()["error"]["type"]) == (502, failure.error_type)


def test_rules_default_to_the_function_urls() -> None:
    assert PreludeRules() == FUNCTION_URL_PRELUDE
    assert (REST_PRELUDE.max_bytes, REST_PRELUDE.multi_value_headers) == (16 * 1024, True)
