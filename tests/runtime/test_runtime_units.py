"""Unit tests of the runtime's pure parts: config, context parsing, error payloads, handler loading."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streaming_runtime import InvocationContext, StreamingResponse, errors, run
from streaming_runtime.client import RuntimeApiClient
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.context import ClientContext, CognitoIdentity
from streaming_runtime.handler_loader import load_handler

CONFIG = RuntimeConfig(function_name="fn", function_version="3", memory_limit_in_mb="512")
GOOD = {
    "Lambda-Runtime-Aws-Request-Id": "req-1",
    "Lambda-Runtime-Deadline-Ms": "4102444800000",
    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:1:function:fn",
}


def test_public_exports() -> None:
    import streaming_runtime

    assert sorted(streaming_runtime.__all__) == [
        "FunctionError",
        "InvocationContext",
        "RawStreamingResponse",
        "StreamingResponse",
        "run",
    ]
    assert callable(run) and StreamingResponse and InvocationContext


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ({}, lambda c: c.client_context is None and c.identity == CognitoIdentity() and c.tenant_id is None),
        ({"lambda-runtime-aws-tenant-id": "t1"}, lambda c: c.tenant_id == "t1"),
        ({"Lambda-Runtime-Trace-Id": "Root=1"}, lambda c: c.xray_trace_id == "Root=1"),
        ({"Lambda-Runtime-Invocation-Id": "n"}, lambda c: c.invocation_id == "n"),
        (
            {"Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"a","cognitoIdentityPoolId":"b"}'},
            lambda c: c.identity == CognitoIdentity(cognito_identity_id="a", cognito_identity_pool_id="b"),
        ),
        (
            {"Lambda-Runtime-Client-Context": '{"client":{"app_title":"x"},"custom":{"a":1},"env":{"e":2}}'},
            lambda c: (
                isinstance(c.client_context, ClientContext)
                and c.client_context.client is not None
                and c.client_context.client.app_title == "x"
                and c.client_context.custom == {"a": 1}
                and c.client_context.env == {"e": 2}
            ),
        ),
    ],
)
def test_context_from_good_headers(extra: dict[str, str], check) -> None:
    context = InvocationContext.from_headers({**GOOD, **extra}, CONFIG)
    assert context.aws_request_id == "req-1"
    assert context.function_name == "fn" and context.function_version == "3"
    assert context.memory_limit_in_mb == "512"
    assert check(context)


@pytest.mark.parametrize(
    ("change", "header"),
    [
        ({"Lambda-Runtime-Aws-Request-Id": None}, "Lambda-Runtime-Aws-Request-Id"),
        ({"Lambda-Runtime-Deadline-Ms": None}, "Lambda-Runtime-Deadline-Ms"),
        ({"Lambda-Runtime-Deadline-Ms": "12.5"}, "Lambda-Runtime-Deadline-Ms"),
        ({"Lambda-Runtime-Deadline-Ms": "-5"}, "Lambda-Runtime-Deadline-Ms"),
        ({"Lambda-Runtime-Client-Context": "{"}, "Lambda-Runtime-Client-Context"),
        ({"Lambda-Runtime-Client-Context": "[]"}, "Lambda-Runtime-Client-Context"),
        ({"Lambda-Runtime-Cognito-Identity": "nope"}, "Lambda-Runtime-Cognito-Identity"),
    ],
)
def test_context_from_missing_or_garbled_headers(change: dict[str, str | None], header: str) -> None:
    headers = {**GOOD, **change}
    cleaned = {name: value for name, value in headers.items() if value is not None}
    with pytest.raises(errors.InvalidInvocationHeaders) as caught:
        InvocationContext.from_headers(cleaned, CONFIG)
    assert caught.value.error_type == "Runtime.InvalidInvocationHeaders"
    assert header in str(caught.value)


def test_remaining_time_counts_down_and_floors_at_zero() -> None:
    soon = InvocationContext(aws_request_id="r", deadline_ms=int(time.time() * 1000) + 2000)
    assert 1000 < soon.get_remaining_time_in_millis() <= 2000
    assert InvocationContext(aws_request_id="r", deadline_ms=1).get_remaining_time_in_millis() == 0


def test_config_from_env_defaults_and_values() -> None:
    config = RuntimeConfig.from_env({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "_HANDLER": "a.b"})
    assert config.handler == "a.b"
    assert config.log_format == "Text" and config.log_level == "INFO"
    assert config.max_response_bytes == 200 * 1024 * 1024
    assert config.max_invocations is None
    full = RuntimeConfig.from_env(
        {
            "AWS_LAMBDA_RUNTIME_API": "h:1",
            "_HANDLER": "a.b",
            "AWS_LAMBDA_LOG_FORMAT": "json",
            "AWS_LAMBDA_LOG_LEVEL": "warn",
            "_STREAMING_RUNTIME_MAX_RESPONSE_BYTES": "10",
            "LAMBDA_TASK_ROOT": "/x",
        },
        argv=["prog", "c.d"],
    )
    assert (full.handler, full.log_format, full.log_level) == ("c.d", "JSON", "WARN")
    assert (full.max_response_bytes, full.task_root) == (10, "/x")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AWS_LAMBDA_RUNTIME_API": "h:1", "AWS_LAMBDA_LOG_LEVEL": "LOUD"},
        {"AWS_LAMBDA_RUNTIME_API": "h:1", "_STREAMING_RUNTIME_MAX_RESPONSE_BYTES": "big"},
        {"AWS_LAMBDA_RUNTIME_API": "h:1", "_STREAMING_RUNTIME_MAX_RESPONSE_BYTES": "0"},
    ],
)
def test_config_rejects_bad_environment(environ: dict[str, str]) -> None:
    with pytest.raises(errors.ConfigError):
        RuntimeConfig.from_env(environ)


@pytest.mark.parametrize("address", ["nonsense", ":9001", "host:", "host:port"])
def test_runtime_api_address_must_be_host_and_port(address: str) -> None:
    with pytest.raises(errors.ConfigError, match="is not host:port"):
        RuntimeApiClient(address=address)


def test_error_payload_camel_case_and_trimmed_frames() -> None:
    def user_code() -> None:
        raise ValueError("bad value")

    try:
        user_code()
    except ValueError as exc:
        payload = errors.ErrorPayload.from_exception(exc, request_id="r-1")
    document = payload.to_json()
    assert list(document) == ["errorMessage", "errorType", "stackTrace", "requestId"]
    assert document["errorType"] == "ValueError" and document["errorMessage"] == "bad value"
    assert any("user_code" in frame for frame in payload.stack_trace)
    assert json.loads(json.dumps(document)) == document


def test_fault_classes_carry_their_type_and_message() -> None:
    fault = errors.HandlerNotFound(module="app", function="handler")
    assert isinstance(fault, errors.RuntimeFault)
    assert fault.error_type == "Runtime.HandlerNotFound"
    assert str(fault) == "Handler 'handler' missing on module 'app'"
    payload = errors.ErrorPayload.from_exception(fault)
    assert payload.error_type == "Runtime.HandlerNotFound"
    api_error = errors.RuntimeApiError("/next", 500, "boom")
    assert (api_error.endpoint, api_error.status, api_error.body) == ("/next", 500, "boom")


def test_load_handler_dotted_and_slashed(tmp_path: Path) -> None:
    package = tmp_path / "pkg_for_loader" / "inner"
    package.mkdir(parents=True)
    (tmp_path / "pkg_for_loader" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("def handler(event, context):\n    return event\n")
    assert load_handler("pkg_for_loader.inner.app.handler", task_root=str(tmp_path))(1, None) == 1
    assert load_handler("pkg_for_loader/inner/app.handler", task_root=str(tmp_path))(2, None) == 2


@pytest.mark.parametrize("handler", ["", "nodot", ".fn", "mod.", "a..b", "mod.not-an-identifier"])
def test_load_handler_malformed_names(handler: str, tmp_path: Path) -> None:
    with pytest.raises(errors.MalformedHandlerName):
        load_handler(handler, task_root=str(tmp_path))
