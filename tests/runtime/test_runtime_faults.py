"""The real runtime under handler errors, bad input, init failures and Runtime API faults."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from recording_api import Post, RecordingApi
from runtime_process import BOOTSTRAP, RuntimeProcess, StartRuntime, runtime_env

EXIT_INIT_ERROR, EXIT_CONFIG_ERROR, EXIT_RUNTIME_API_ERROR = 1, 2, 3


def _trailer_error(post: Post) -> dict[str, Any]:
    return json.loads(base64.b64decode(post.trailers["lambda-runtime-function-error-body"], validate=True))


def _assert_served_next(api: RecordingApi, runtime: RuntimeProcess) -> None:
    """The process is alive and answers a following invocation."""
    rid = api.enqueue({"n": 2}, headers={})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.kind == "response"
    assert runtime.alive()


def test_error_before_first_byte_goes_to_error_endpoint(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime("handlers.fail_at_once")
    rid = api.enqueue({})
    post = api.wait_post(kind="error", request_id=rid)
    assert post.header("Lambda-Runtime-Function-Error-Type") == "ValueError"
    assert post.header("Content-Type") == "application/vnd.aws.lambda.error+json"
    document = post.json()
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "broken before streaming"
    assert document["requestId"] == rid
    assert any("handlers.py" in frame for frame in document["stackTrace"])
    assert not any("streaming_runtime" in frame for frame in document["stackTrace"])
    assert not [p for p in api.posts if p.kind == "response" and p.request_id == rid]
    assert runtime.alive()


def test_error_mid_stream_gives_exact_trailers(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.fail_mid_stream")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.complete
    assert post.body == b"partial response"
    error = _trailer_error(post)
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "boom after two pieces"
    assert error["requestId"] == rid
    assert any("handlers.py" in frame and "fail_mid_stream" in frame for frame in error["stackTrace"])
    body_b64 = base64.b64encode(
        json.dumps(error, separators=(",", ":"), ensure_ascii=False).encode()
    ).decode()
    assert post.raw_trailer_block == (
        b"Lambda-Runtime-Function-Error-Type: RuntimeError\r\n"
        + b"Lambda-Runtime-Function-Error-Body: "
        + body_b64.encode()
        + b"\r\n"
    )
    assert runtime.alive()


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("handlers.raise_plain", "KeyError"),
        ("handlers.not_serialisable", "Runtime.MarshalError"),
        ("handlers.bad_item_first", "Runtime.InvalidStreamItem"),
        ("handlers.unprintable_error", "UnprintableError"),
        ("handlers.failing_aiter_body", "LookupError"),
    ],
)
def test_handler_errors_are_reported_and_process_survives(
    api: RecordingApi, start_runtime: StartRuntime, handler: str, error_type: str
) -> None:
    runtime = start_runtime(handler)
    for _ in range(2):
        rid = api.enqueue({})
        post = api.wait_post(kind="error", request_id=rid)
        assert post.json()["errorType"] == error_type
        assert post.header("Lambda-Runtime-Function-Error-Type") == error_type
    assert runtime.alive()


def test_bad_item_after_first_byte_gives_trailers(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.bad_item_later")
    rid = api.enqueue({})
    post = api.wait_post(kind="response", request_id=rid)
    assert post.body == b"fine "
    assert post.trailers["lambda-runtime-function-error-type"] == "Runtime.InvalidStreamItem"
    assert "dict" in _trailer_error(post)["errorMessage"]
    assert runtime.alive()


@pytest.mark.parametrize(
    "headers",
    [
        {"Lambda-Runtime-Deadline-Ms": ""},
        {"Lambda-Runtime-Deadline-Ms": "soon"},
        {"Lambda-Runtime-Client-Context": "{not json"},
        {"Lambda-Runtime-Cognito-Identity": "[1, 2"},
    ],
)
def test_garbled_next_headers_are_reported_not_fatal(
    api: RecordingApi, start_runtime: StartRuntime, headers: dict[str, str]
) -> None:
    runtime = start_runtime("handlers.echo")
    rid = api.enqueue({}, headers=headers)
    post = api.wait_post(kind="error", request_id=rid)
    assert post.json()["errorType"] == "Runtime.InvalidInvocationHeaders"
    _assert_served_next(api, runtime)


def test_invalid_event_json_is_reported(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.echo")
    rid = api.enqueue(body=b"{truncated")
    assert api.wait_post(kind="error", request_id=rid).json()["errorType"] == "Runtime.UnmarshalError"
    _assert_served_next(api, runtime)


INIT_CASES = [
    ("nodot", None, "Runtime.MalformedHandlerName"),
    ("handlers.", None, "Runtime.MalformedHandlerName"),
    ("no_such_module.handler", None, "Runtime.ImportModuleError"),
    ("broken_import.handler", "import not_installed_anywhere\n", "Runtime.ImportModuleError"),
    ("broken_syntax.handler", "def handler(event, context)\n    return 1\n", "Runtime.UserCodeSyntaxError"),
    ("handlers.no_such_function", None, "Runtime.HandlerNotFound"),
    ("constant.handler", "handler = 42\n", "Runtime.HandlerNotCallable"),
    ("raises.handler", "raise RuntimeError('init went wrong')\n", "RuntimeError"),
]


@pytest.mark.parametrize(("handler", "module_source", "error_type"), INIT_CASES)
def test_init_failures_post_init_error_and_exit(
    api: RecordingApi,
    start_runtime: StartRuntime,
    *,
    task_root: Path,
    handler: str,
    module_source: str | None,
    error_type: str,
) -> None:
    if module_source is not None:
        (task_root / f"{handler.split('.', maxsplit=1)[0]}.py").write_text(module_source)
    runtime = start_runtime(handler)
    post = api.wait_post(kind="init_error")
    assert runtime.wait() == EXIT_INIT_ERROR
    assert post.json()["errorType"] == error_type
    assert post.header("Lambda-Runtime-Function-Error-Type") == error_type
    assert post.json()["errorMessage"]
    assert not api.next_calls


def test_handler_is_imported_with_the_garbage_collector_paused(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    """Init runs without cyclic collections; afterwards the collector is back on and init's objects are
    frozen (so later full collections skip them)."""
    start_runtime("handlers.gc_state")
    post = api.wait_post(kind="response", request_id=api.enqueue({}))
    state = post.json()
    assert state["at_import"] is False
    assert state["now"] is True
    assert state["frozen"] > 1000


@pytest.mark.parametrize("endpoint", ["next", "response"])
def test_runtime_api_500_exits_non_zero(
    api: RecordingApi, start_runtime: StartRuntime, endpoint: str
) -> None:
    api.statuses[endpoint] = 500
    runtime = start_runtime("handlers.echo")
    api.enqueue({})
    assert runtime.wait() == EXIT_RUNTIME_API_ERROR
    assert "500" in runtime.log()


@pytest.mark.parametrize("status", [400, 403, 410, 413])
def test_recoverable_statuses_are_logged_and_loop_goes_on(
    api: RecordingApi, start_runtime: StartRuntime, status: int
) -> None:
    api.statuses["response"] = status
    runtime = start_runtime("handlers.echo")
    api.wait_post(kind="response", request_id=api.enqueue({}))
    del api.statuses["response"]
    _assert_served_next(api, runtime)
    assert str(status) in runtime.log()


def test_connection_reset_mid_stream_logged_and_loop_goes_on(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    api.drop_after_chunks = 2
    runtime = start_runtime("handlers.closes_cleanly")
    rid = api.enqueue({})
    broken = api.wait_post(kind="response", request_id=rid)
    assert not broken.complete
    api.drop_after_chunks = None
    second = api.wait_post(kind="response", request_id=api.enqueue({}), timeout=30)
    assert second.complete
    assert len(second.chunks) == 1000
    assert runtime.alive()
    log = runtime.log()
    assert "interrupted" in log
    assert '{"generator_closed": true}' in log  # the handler's generator was closed, its finally ran


def test_connection_reset_with_api_gone_exits_non_zero(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    api.drop_after_chunks = 2
    runtime = start_runtime("handlers.closes_cleanly")
    api.wait_post(kind="response", request_id=api.enqueue({}))
    api.stop()
    assert runtime.wait() == EXIT_RUNTIME_API_ERROR


def test_missing_runtime_api_address_is_a_one_line_error(tmp_path: Path, task_root: Path) -> None:
    env = runtime_env(api="", task_root=task_root, handler="handlers.echo")
    del env["AWS_LAMBDA_RUNTIME_API"]
    result = subprocess.run(
        [str(BOOTSTRAP)], env=env, cwd=tmp_path, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == EXIT_CONFIG_ERROR
    assert result.stderr.decode().strip().splitlines() == [
        "streaming_runtime: AWS_LAMBDA_RUNTIME_API is not set (expected host:port of the Runtime API)"
    ]
