"""A `StreamingResponse` with an empty body still gets its prelude: the real runtime/bootstrap against the
recording Runtime API sends the prelude and its 8 NULs as the one chunk, then ends the stream cleanly
(PROTOCOL.md §11.3: a streaming front end answers a body-less stream without a prelude with a 502)."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_api import RecordingApi
from runtime_process import StartRuntime

HANDLERS = """
from streaming_runtime import StreamingResponse


def no_pieces(event, context):
    return StreamingResponse([], status_code=204, headers={"x-empty": "1"})


def only_empty_pieces(event, context):
    return StreamingResponse(iter(["", b"", bytearray()]), status_code=204, headers={"x-empty": "1"})


def empty_text(event, context):
    return StreamingResponse("", status_code=204, headers={"x-empty": "1"})


def empty_generator(event, context):
    def body():
        return
        yield b""

    return StreamingResponse(body(), status_code=204, headers={"x-empty": "1"})


def empty_async(event, context):
    async def body():
        return
        yield b""

    return StreamingResponse(body(), status_code=204, headers={"x-empty": "1"})


def acknowledgement(event, context):  # what bedrock_handler answers API Gateway's completion notification
    return StreamingResponse((), status_code=200)
"""
PRELUDE_204 = b'{"statusCode":204,"headers":{"x-empty":"1"},"cookies":[]}' + b"\x00" * 8


@pytest.mark.parametrize(
    ("handler", "prelude"),
    [
        ("no_pieces", PRELUDE_204),
        ("only_empty_pieces", PRELUDE_204),
        ("empty_text", PRELUDE_204),
        ("empty_generator", PRELUDE_204),
        ("empty_async", PRELUDE_204),
        ("acknowledgement", b'{"statusCode":200,"headers":{},"cookies":[]}' + b"\x00" * 8),
    ],
)
def test_an_empty_body_still_sends_the_prelude(
    api: RecordingApi, start_runtime: StartRuntime, task_root: Path, handler: str, prelude: bytes
) -> None:
    (task_root / "empty_bodies.py").write_text(HANDLERS)
    runtime = start_runtime(f"empty_bodies.{handler}")
    post = api.wait_post(kind="response", request_id=api.enqueue({}))
    assert post.header("Content-Type") == "application/vnd.awslambda.http-integration-response"
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert post.complete and post.trailers == {}, runtime.log()
    assert [chunk.data for chunk in post.chunks] == [prelude]
    assert api.wait_client_closed(post)
    assert runtime.alive()
