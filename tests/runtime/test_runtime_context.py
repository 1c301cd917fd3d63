"""The real runtime's per-invocation context: attributes, remaining time, trace id, invocation id, logs."""

from __future__ import annotations

import base64
import json
import time

from recording_api import RecordingApi
from runtime_process import RuntimeProcess, StartRuntime


def test_context_attributes_and_remaining_time(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.show_context")
    deadline = int(time.time() * 1000) + 10_000
    rid = api.enqueue(
        {},
        deadline_ms=deadline,
        headers={
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:111122223333:function:f:live",
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
            "Lambda-Runtime-Cognito-Identity": json.dumps(
                {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
            ),
            "Lambda-Runtime-Client-Context": json.dumps(
                {"client": {"installation_id": "inst-1"}, "custom": {"k": "v"}, "env": {}}
            ),
        },
    )
    seen = api.wait_post(kind="response", request_id=rid).json()
    remaining = seen.pop("remaining")
    assert 5_000 < remaining <= 10_000
    assert seen == {
        "aws_request_id": rid,
        "invoked_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:f:live",
        "function_name": "test-function",
        "function_version": "7",
        "memory_limit_in_mb": "256",
        "log_group_name": "/aws/lambda/test-function",
        "log_stream_name": "2026/11/28/[7]abc",
        "tenant_id": "tenant-7",
        "cognito_identity_id": "id-1",
        "cognito_identity_pool_id": "pool-1",
        "client_installation_id": "inst-1",
        "client_custom": {"k": "v"},
        "trace_env": None,
    }


def test_trace_id_set_and_cleared_per_invocation(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.show_context", extra_env={"_X_AMZN_TRACE_ID": "Root=stale-from-env"})
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    with_trace = api.enqueue({}, headers={"Lambda-Runtime-Trace-Id": trace})
    assert api.wait_post(kind="response", request_id=with_trace).json()["trace_env"] == trace
    without = api.enqueue({})
    assert api.wait_post(kind="response", request_id=without).json()["trace_env"] is None


def test_invocation_id_echoed_on_response_and_error(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.echo")
    echoed = api.enqueue({}, headers={"Lambda-Runtime-Invocation-Id": "nonce-1"})
    assert api.wait_post(kind="response", request_id=echoed).header_values(
        "Lambda-Runtime-Invocation-Id"
    ) == ["nonce-1"]
    plain = api.enqueue({})
    assert api.wait_post(kind="response", request_id=plain).header("Lambda-Runtime-Invocation-Id") is None
    failing = api.enqueue(body=b"not json", headers={"Lambda-Runtime-Invocation-Id": "nonce-2"})
    assert api.wait_post(kind="error", request_id=failing).header("Lambda-Runtime-Invocation-Id") == "nonce-2"


def test_invocation_id_echoed_on_streamed_response(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.small_chunks")
    rid = api.enqueue({"count": 2}, headers={"Lambda-Runtime-Invocation-Id": "nonce-3"})
    assert api.wait_post(kind="response", request_id=rid).header("Lambda-Runtime-Invocation-Id") == "nonce-3"


def _wait_for_log(runtime: RuntimeProcess, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = runtime.log()
        if text in log:
            return log
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in log: {runtime.log()}")


def test_json_log_format_has_request_id_on_user_records(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime("handlers.log_things", extra_env={"AWS_LAMBDA_LOG_FORMAT": "json"})
    rid = api.enqueue({"n": 1})
    api.wait_post(kind="response", request_id=rid)
    log = _wait_for_log(runtime, "user log line 1")
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    user = next(record for record in records if record["message"] == "user log line 1")
    assert user["requestId"] == rid
    assert user["level"] == "WARNING"
    assert user["timestamp"].endswith("Z")
    # print() reached the log while the process is still running: stdout is not block-buffered
    assert "printed line" in log


def test_text_log_format(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.log_things", extra_env={"AWS_LAMBDA_LOG_LEVEL": "WARN"})
    rid = api.enqueue({"n": 3})
    api.wait_post(kind="response", request_id=rid)
    line = next(line for line in _wait_for_log(runtime, "user log line 3").splitlines() if "user log" in line)
    assert line.startswith("[WARNING]\t")
    assert f"\t{rid}\tuser log line 3" in line


def test_log_level_filters_user_records(api: RecordingApi, start_runtime: StartRuntime) -> None:
    quiet = start_runtime("handlers.log_things", extra_env={"AWS_LAMBDA_LOG_LEVEL": "ERROR"})
    api.wait_post(kind="response", request_id=api.enqueue({"n": 4}))
    _wait_for_log(quiet, "printed line")
    assert "user log line 4" not in quiet.log()


def test_event_payload_not_logged_at_info(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.fail_at_once", extra_env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    api.wait_post(kind="error", request_id=api.enqueue({"secret": "prompt-text-123"}))
    _wait_for_log(runtime, "broken before streaming")
    assert "prompt-text-123" not in runtime.log()


def test_size_guard_ends_stream_with_trailer(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime(
        "handlers.size_guard", extra_env={"_STREAMING_RUNTIME_MAX_RESPONSE_BYTES": "1000"}
    )
    post = api.wait_post(kind="response", request_id=api.enqueue({}))
    assert post.complete
    assert post.body == b"x" * 1000
    assert post.trailers["lambda-runtime-function-error-type"] == "Function.ResponseSizeTooLarge"
    body = json.loads(base64.b64decode(post.trailers["lambda-runtime-function-error-body"]))
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert "1000" in body["errorMessage"]
    assert runtime.alive()


def test_handler_from_argv_wins_over_env(api: RecordingApi, start_runtime: StartRuntime) -> None:
    start_runtime("handlers.raise_plain", args=("handlers.echo",))
    assert api.wait_post(kind="response", request_id=api.enqueue({"x": 1})).json() == {"event": {"x": 1}}
