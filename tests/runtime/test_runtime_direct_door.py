"""The runtime's direct-invocation surface through the real runtime/bootstrap and the recording Runtime API:
`RawStreamingResponse` streams under its own Content-Type with no prelude, and `FunctionError` is reported
under the handler's error type with an empty stack trace (to /error before the first byte, in the error
trailers after it), logged without a traceback; the process serves the next invocation."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from recording_api import Post, RecordingApi
from runtime_process import REPO, RuntimeProcess, StartRuntime
from streaming_runtime import FunctionError, RawStreamingResponse
from streaming_runtime.errors import ErrorPayload

HANDLERS = """
import asyncio

from streaming_runtime import FunctionError, RawStreamingResponse


def ndjson(event, context):
    return RawStreamingResponse(
        iter(['{"n":1}\\n', b"", '{"n":2}\\n']), content_type="application/x-ndjson; charset=utf-8"
    )


def default_type(event, context):
    return RawStreamingResponse(iter([b"\\x00\\x01raw", "text"]))


def one_text(event, context):
    return RawStreamingResponse("whole body", content_type="text/plain; charset=utf-8")


def empty(event, context):
    return RawStreamingResponse([], content_type="text/plain; charset=utf-8")


def async_body(event, context):
    async def body():
        for piece in ("async ", "raw"):
            await asyncio.sleep(0)
            yield piece

    return RawStreamingResponse(body(), content_type="text/event-stream")


def refuse(event, context):
    raise FunctionError("invalid_request", "unknown field 'x'; allowed: prompt")


def refuse_in_body(event, context):
    def body():
        raise FunctionError("throttled", "Bedrock ThrottlingException: slow down")
        yield ""

    return RawStreamingResponse(body(), content_type="text/plain; charset=utf-8")


def fail_mid_stream(event, context):
    def body():
        yield '{"type":"delta","text":"Hel"}\\n'
        yield '{"type":"error","error":{"type":"modelStreamErrorException","message":"boom"}}\\n'
        raise FunctionError("modelStreamErrorException", "Bedrock modelStreamErrorException: boom")

    return RawStreamingResponse(body(), content_type="application/x-ndjson; charset=utf-8")


def bad_content_type(event, context):
    return RawStreamingResponse(["x"], content_type="text/plain\\r\\nX-Injected: 1")


"""


MODULE = "direct_handlers"


@pytest.fixture(autouse=True)
def _handlers(task_root: Path) -> None:
    (task_root / f"{MODULE}.py").write_text(HANDLERS)


def _served_next(api: RecordingApi, runtime: RuntimeProcess, kind: str = "response") -> None:
    """The process is alive and answers a following invocation (the same handler: the same kind)."""
    post = api.wait_post(kind=kind, request_id=api.enqueue({"next": True}))
    assert post.complete, runtime.log()
    assert runtime.alive()


def _trailer_error(post: Post) -> dict[str, Any]:
    return json.loads(base64.b64decode(post.trailers["lambda-runtime-function-error-body"], validate=True))


@pytest.mark.parametrize(
    ("handler", "content_type", "chunks"),
    [
        (
            "ndjson",
            "application/x-ndjson; charset=utf-8",
            [b'{"n":1}\n', b'{"n":2}\n'],
        ),
        ("default_type", "application/octet-stream", [b"\x00\x01raw", b"text"]),
        ("one_text", "text/plain; charset=utf-8", [b"whole body"]),
        ("async_body", "text/event-stream", [b"async ", b"raw"]),
        ("empty", "text/plain; charset=utf-8", []),
    ],
)
def test_raw_stream_has_its_content_type_and_no_prelude(
    api: RecordingApi,
    start_runtime: StartRuntime,
    handler: str,
    content_type: str,
    chunks: list[bytes],
) -> None:
    runtime = start_runtime(f"{MODULE}.{handler}")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.header("Content-Type") == content_type
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert post.header_values("Trailer") == [
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    ]
    assert post.chunked and post.complete and post.trailers == {}, runtime.log()
    # exactly the pieces, one chunk each: no prelude JSON, no 8-NUL delimiter before them
    assert [chunk.data for chunk in post.chunks] == chunks
    assert b"\x00" * 8 not in post.body
    assert api.wait_client_closed(post)
    _served_next(api, runtime)


def test_function_error_before_the_first_byte_goes_to_error_with_its_type(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime(f"{MODULE}.refuse")
    rid = api.enqueue({})
    post = api.wait_post(kind="error", request_id=rid)
    assert post.header("Lambda-Runtime-Function-Error-Type") == "invalid_request"
    assert post.header("Content-Type") == "application/vnd.aws.lambda.error+json"
    assert post.json() == {
        "errorMessage": "unknown field 'x'; allowed: prompt",
        "errorType": "invalid_request",
        "stackTrace": [],
        "requestId": rid,
    }
    assert not [p for p in api.posts if p.kind == "response" and p.request_id == rid]
    _served_next(api, runtime, "error")
    log = runtime.log()
    assert "Invocation failed: invalid_request: unknown field 'x'; allowed: prompt" in log
    assert "Traceback" not in log  # a deliberate refusal, not a crash


def test_function_error_from_the_body_before_its_first_piece_goes_to_error(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime(f"{MODULE}.refuse_in_body")
    rid = api.enqueue({})
    post = api.wait_post(kind="error", request_id=rid)
    assert post.json() == {
        "errorMessage": "Bedrock ThrottlingException: slow down",
        "errorType": "throttled",
        "stackTrace": [],
        "requestId": rid,
    }
    assert not [p for p in api.posts if p.kind == "response" and p.request_id == rid]
    _served_next(api, runtime, "error")


def test_function_error_after_the_first_byte_ends_the_stream_with_its_trailers(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime(f"{MODULE}.fail_mid_stream")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.header("Content-Type") == "application/x-ndjson; charset=utf-8"
    assert post.complete
    assert [chunk.data for chunk in post.chunks] == [
        b'{"type":"delta","text":"Hel"}\n',
        b'{"type":"error","error":{"type":"modelStreamErrorException","message":"boom"}}\n',
    ]
    assert post.trailers["lambda-runtime-function-error-type"] == "modelStreamErrorException"
    expected = {
        "errorMessage": "Bedrock modelStreamErrorException: boom",
        "errorType": "modelStreamErrorException",
        "stackTrace": [],
        "requestId": rid,
    }
    assert _trailer_error(post) == expected
    # golden: standard base64 of the compact JSON in the payload's key order
    assert post.trailers["lambda-runtime-function-error-body"] == base64.b64encode(
        json.dumps(expected, separators=(",", ":")).encode()
    ).decode("ascii")
    _served_next(api, runtime)
    log = runtime.log()
    assert "Handler failed mid-stream: modelStreamErrorException" in log
    assert "Traceback" not in log


def test_a_content_type_that_is_no_header_line_is_the_handlers_error(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime(f"{MODULE}.bad_content_type")
    rid = api.enqueue({})
    document = api.wait_post(kind="error", request_id=rid).json()
    assert document["errorType"] == "ValueError"
    assert "is not one line of printable ASCII" in document["errorMessage"]
    assert any("direct_handlers.py" in frame for frame in document["stackTrace"])
    _served_next(api, runtime, "error")


# --- the two public types on their own -----------------------------------------------------------


@pytest.mark.parametrize("content_type", ["", "   ", "a\nb", "text/plain\r", "tëxt/plain", "a\tb"])
def test_raw_streaming_response_refuses_content_types_that_are_no_header_value(content_type: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        RawStreamingResponse([], content_type=content_type)


def test_raw_streaming_response_keeps_body_and_type_and_is_immutable() -> None:
    body = ["a"]
    response = RawStreamingResponse(body, content_type="application/json")
    assert (response.body, response.content_type) == (body, "application/json")
    assert RawStreamingResponse(body).content_type == "application/octet-stream"
    with pytest.raises(TypeError, match="content_type must be a string"):
        RawStreamingResponse(body, content_type=None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="immutable"):
        response.content_type = "text/plain"  # type: ignore[misc]


@pytest.mark.parametrize("error_type", ["", " ", None, 3])
def test_function_error_needs_an_error_type(error_type: Any) -> None:
    with pytest.raises(ValueError, match="error_type must be a non-empty string"):
        FunctionError(error_type, "message")


def test_function_error_payload_has_no_stack_trace() -> None:
    try:
        raise FunctionError("deadline_exceeded", "out of time")
    except FunctionError as exc:
        payload = ErrorPayload.from_exception(exc, request_id="r-1")
        assert str(exc) == "out of time" and exc.error_type == "deadline_exceeded"
    assert payload == ErrorPayload("deadline_exceeded", "out of time", (), "r-1")


def test_the_documented_direct_example_runs_as_documented(
    api: RecordingApi, start_runtime: StartRuntime, task_root: Path
) -> None:
    """docs/runtime.md's second handler example: a raw stream for an event with a prompt, else a refusal."""
    page = (REPO / "docs" / "runtime.md").read_text()
    contract = page.split("## Handler contract", 1)[1].split("\n## ", 1)[0]
    example = contract.split("```python\n")[2].split("```", 1)[0]
    (task_root / "documented.py").write_text(example)
    runtime = start_runtime("documented.handler")
    streamed = api.wait_post(kind="response", request_id=api.enqueue({"prompt": "hi"}))
    assert streamed.header("Content-Type") == "text/plain; charset=utf-8"
    assert [chunk.data for chunk in streamed.chunks] == [b"one ", b"two\n"]
    refused = api.wait_post(kind="error", request_id=api.enqueue(["not", "an", "object"])).json()
    assert (refused["errorType"], refused["stackTrace"]) == ("invalid_request", [])
    assert runtime.alive()
