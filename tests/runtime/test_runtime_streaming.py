"""The real runtime/bootstrap streaming against the recording Runtime API: bytes, timing, prelude, async."""

from __future__ import annotations

import base64
import itertools
import json
import statistics

from recording_api import Post, RecordingApi
from runtime_process import StartRuntime

STREAM_HEADERS = {
    "Lambda-Runtime-Function-Response-Mode": "streaming",
    "Transfer-Encoding": "chunked",
    "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
}


def _assert_streaming_headers(post: Post, content_type: str) -> None:
    for name, value in STREAM_HEADERS.items():
        assert post.header_values(name) == [value], name
    assert post.header("Content-Type") == content_type
    assert post.header("Content-Length") is None


def test_buffered_json_response(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.echo")
    rid = api.enqueue({"hello": "world"})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.header("Content-Type") == "application/json"
    assert post.json() == {"event": {"hello": "world"}}
    assert not post.chunked
    assert runtime.alive()


def test_ten_thousand_small_chunks_byte_exact(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.small_chunks")
    rid = api.enqueue({"count": 10_000})
    post = api.wait_post(kind="response", request_id=rid, timeout=60)
    expected = b"".join(b"%05d," % index for index in range(10_000))
    assert post.complete
    assert post.body == expected
    # one chunk per yielded piece: nothing coalesced, nothing split
    assert [chunk.data for chunk in post.chunks] == [b"%05d," % index for index in range(10_000)]
    assert post.trailers == {}
    _assert_streaming_headers(post, "application/octet-stream")
    assert api.wait_client_closed(post), "the runtime must close the streaming connection after the response"


def test_two_hundred_64k_chunks_byte_exact(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.big_chunks")
    rid = api.enqueue({"count": 200, "size": 65536})
    post = api.wait_post(kind="response", request_id=rid, timeout=60)
    assert post.complete
    assert len(post.chunks) == 200
    assert post.body == b"".join(bytes([index % 251]) * 65536 for index in range(200))


def test_chunks_arrive_as_they_are_yielded(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.slow_chunks")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid, timeout=30)
    assert [chunk.data for chunk in post.chunks] == [f"piece {i}\n".encode() for i in range(10)]
    arrivals = [chunk.arrived for chunk in post.chunks]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # 9 sleeps of 50 ms: buffered delivery would put all chunks within a few ms of each other.
    assert arrivals[-1] - arrivals[0] >= 0.35
    assert statistics.median(gaps) >= 0.03
    assert min(gaps) >= 0.02


def test_prelude_golden_bytes_and_empty_pieces_skipped(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    start_runtime("handlers.with_prelude")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    _assert_streaming_headers(post, "application/vnd.awslambda.http-integration-response")
    assert [chunk.data for chunk in post.chunks] == [
        b'{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1; Path=/"]}' + b"\x00" * 8,
        b"hello ",
        b"world",
    ]


def test_str_pieces_are_utf8_and_empty_pieces_skipped(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.mixed_pieces")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert [chunk.data for chunk in post.chunks] == ["héllo ".encode(), b"bytes ", b"end"]


def test_async_generator_streams_on_one_loop(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.async_gen")
    first = api.enqueue({})
    second = api.enqueue({})
    for rid in (first, second):
        post = api.wait_post(kind="response", request_id=rid)
        assert [chunk.data for chunk in post.chunks] == [b"async 0;", b"async 1;", b"async 2;"]
    assert runtime.alive()


def test_async_body_in_streaming_response(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.async_body")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert (
        post.chunks[0].data == b'{"statusCode":202,"headers":{"x-kind":"async"},"cookies":[]}' + b"\x00" * 8
    )
    assert post.body.split(b"\x00" * 8, 1)[1] == b"from async body"


def test_async_def_handler_reuses_one_event_loop(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.coroutine")
    loop_ids = [
        api.wait_post(kind="response", request_id=api.enqueue({})).json()["loop_id"] for _ in range(2)
    ]
    assert loop_ids[0] == loop_ids[1]


def test_async_generator_failure_mid_stream_gives_trailers(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    start_runtime("handlers.async_fail_mid")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.body == b"one;"
    assert post.trailers["lambda-runtime-function-error-type"] == "ValueError"
    body = json.loads(base64.b64decode(post.trailers["lambda-runtime-function-error-body"]))
    assert body["errorMessage"] == "async boom"


def test_text_and_bytes_return_values_are_buffered(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.returns_text")
    post = api.wait_post(kind="response", request_id=api.enqueue({}))
    assert post.body == b"plain text"
    assert post.header("Content-Type") == "text/plain; charset=utf-8"


def test_bytes_return_value_is_buffered_raw(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.returns_bytes")
    post = api.wait_post(kind="response", request_id=api.enqueue({}))
    assert post.body == b"\x00\x01raw"
    assert post.header("Content-Type") == "application/octet-stream"


def test_streaming_post_uses_its_own_connection(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.small_chunks")
    rid = api.enqueue({"count": 3})
    post = api.wait_post(kind="response", request_id=rid)
    api.wait_next_calls(2)
    next_ports = {call.client_port for call in api.next_calls}
    assert len(next_ports) == 1, "GET /next keeps one persistent connection"
    assert post.client_port not in next_ports


def test_response_connection_is_opened_while_the_first_piece_is_produced(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    start_runtime("handlers.late_first_piece")
    rid = api.enqueue({"delay_s": 0.3})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.body == b"first second" and post.complete
    # accepted before the handler's first piece existed: the handshake is off the first byte's path
    assert post.received - post.connected > 0.2


def test_a_preopened_connection_the_api_closed_meanwhile_is_replaced(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    api.idle_timeout_s = 0.1  # closes the pre-opened connection long before the first piece comes
    runtime = start_runtime("handlers.late_first_piece")
    first = api.enqueue({"delay_s": 0.4})
    post = api.wait_post(kind="response", request_id=first)
    assert post.body == b"first second" and post.complete
    assert post.received - post.connected < 0.2, "sent on a fresh connection, not the stale one"
    second = api.enqueue({"delay_s": 0.0})
    assert api.wait_post(kind="response", request_id=second).body == b"first second"
    assert runtime.alive()
