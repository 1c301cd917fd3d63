"""The emulated REST API end to end: HTTP client -> `python -m emulator serve --front rest` -> raw-socket
runtime. The stage path, API keys with usage plans, Cognito ID tokens, the 1.0 event the runtime gets,
the gateway responses byte for byte, and that nothing refused reaches the runtime."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.conftest import raw_runtime_args
from tests.support.emulator_process import REPO, run_emulator
from tests.support.http_client import Response, request
from tests.support.rest_api import RestApiProcess, UserPool, write_key_file

ALICE = "sk-alice-0123456789abcdefghij"
QUOTA = "sk-quota-0123456789abcdefghij"
THROTTLED = "sk-throttle-0123456789abcdefg"
DISABLED = "sk-disabled-0123456789abcdefg"
UNKNOWN = "sk-unknown-0123456789abcdefgh"
KEYS = [
    {"name": "alice", "value": ALICE},
    {"name": "quota", "value": QUOTA, "quota": {"limit": 2, "period": "DAY"}},
    {"name": "throttle", "value": THROTTLED, "throttle": {"rateLimit": 0.001, "burstLimit": 1}},
    {"name": "disabled", "value": DISABLED, "enabled": False},
]
EVERY_SECRET = (ALICE, QUOTA, THROTTLED, DISABLED, UNKNOWN)


def body(name: str, message: str) -> bytes:
    """A gateway response exactly as the construct's template renders it."""
    return f'{{"error": {{"type": "{name}", "message": "{message}", "code": "{name}"}}}}'.encode()


UNAUTHORIZED = (401, body("unauthorized", "Unauthorized"), "UnauthorizedException")
INVALID_KEY = (403, body("invalid_api_key", "Forbidden"), "ForbiddenException")
MISSING_TOKEN = (
    403,
    body("missing_authentication_token", "Missing Authentication Token"),
    "MissingAuthenticationTokenException",
)
THROTTLE = (429, body("throttled", "Too Many Requests"), "TooManyRequestsException")
QUOTA_USED = (429, body("quota_exceeded", "Limit Exceeded"), "LimitExceededException")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestApiProcess]:
    """The REST API with a key file, in front of the raw runtime."""
    keys = write_key_file(tmp_path_factory.mktemp("keys"), KEYS)
    with RestApiProcess(raw_runtime_args("--timeout", "20", "--api-keys", str(keys))) as api:
        yield api


def post(api: RestApiProcess, path: str, spec: dict[str, Any], **headers: str) -> Response:
    return request(api.root, path, body=spec, headers=[(k.replace("_", "-"), v) for k, v in headers.items()])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_gateway_response(response: Response, expected: tuple[int, bytes, str]) -> None:
    status, expected_body, error_type = expected
    assert (response.status, response.body) == (status, expected_body)
    assert response.header("content-type") == "application/json"
    assert response.header("x-amzn-ErrorType") == error_type
    assert re.fullmatch(r"[0-9a-f-]{36}", response.header("x-amzn-RequestId") or "")


def assert_refused_before_the_runtime(
    api: RestApiProcess, send: Any, expected: tuple[int, bytes, str]
) -> None:
    """`send()` gets `expected`, and the runtime is handed nothing for it."""
    before = api.invocations()
    response = send()
    assert_gateway_response(response, expected)
    request_id = response.header("x-amzn-RequestId")
    api.wait_for_log(rf"\[{request_id}\] REST API refused ")
    assert api.invocations() == before
    assert f"START RequestId: {request_id}" not in api.log()


def test_the_ready_line_names_the_stage_url(keyed: RestApiProcess) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/prod/", keyed.url)
    assert f"API URL: {keyed.url}" in keyed.log().splitlines()


def test_a_key_reaches_the_function_in_the_1_0_event(keyed: RestApiProcess) -> None:
    response = request(
        keyed.root,
        "/prod/v1/chat/completions?stream=true",
        body={"scenario": "echo"},
        headers=bearer(ALICE),
    )
    assert response.status == 200, response.body
    event = response.json()
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/{proxy+}",
        "/v1/chat/completions",
        "POST",
    )
    assert event["pathParameters"] == {"proxy": "v1/chat/completions"}
    assert event["queryStringParameters"] == {"stream": "true"}
    context = event["requestContext"]
    assert (context["stage"], context["path"]) == ("prod", "/prod/v1/chat/completions")
    assert context["requestId"] == response.header("x-amzn-RequestId")
    identity = context["identity"]
    assert identity["apiKey"] == ALICE  # the value, as API Gateway fills it
    assert re.fullmatch(r"k[0-9a-f]{10}", identity["apiKeyId"])
    authorizer = context["authorizer"]
    assert re.fullmatch(r"apikey-[0-9a-f]{16}", authorizer["principalId"])
    assert authorizer["authMethod"] == "api-key" and isinstance(authorizer["integrationLatency"], int)
    assert json.loads(event["body"]) == {"scenario": "echo"}


def test_x_api_key_works_too(keyed: RestApiProcess) -> None:
    before = keyed.invocations()
    response = post(keyed, "/prod/", {"scenario": "echo"}, x_api_key=ALICE)
    assert response.status == 200
    assert keyed.invocations() == before + 1  # the count the refusal tests rely on moves
    event = response.json()
    assert (event["resource"], event["pathParameters"]) == ("/", None)
    assert event["requestContext"]["identity"]["apiKey"] == ALICE


def test_a_stream_is_relayed_as_it_arrives_with_its_prelude(keyed: RestApiProcess) -> None:
    spec = {
        "scenario": "stream",
        "chunks": 8,
        "delay_ms": 50,
        "status": 201,
        "headers": {"content-type": "text/event-stream", "x-custom": "yes"},
        "cookies": ["sid=abc; Path=/"],
    }
    response = post(keyed, "/prod/stream", spec, authorization=ALICE)  # a bare key
    assert (response.status, response.header("content-type")) == (201, "text/event-stream")
    assert response.header("x-custom") == "yes" and response.header_all("Set-Cookie") == ["sid=abc; Path=/"]
    assert [data for _, data in response.chunks] == [f"chunk-{i};".encode() for i in range(8)]
    gaps = [b - a for a, b in itertools.pairwise(response.arrivals)]
    assert sum(gap >= 0.02 for gap in gaps) >= 5  # not buffered


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, UNAUTHORIZED),
        ({"Authorization": ""}, UNAUTHORIZED),
        ({"Authorization": "Bearer "}, UNAUTHORIZED),
        ({"Authorization": "Bearer short"}, UNAUTHORIZED),
        ({"Authorization": f"Basic {ALICE}"}, UNAUTHORIZED),
        (bearer(UNKNOWN), INVALID_KEY),
        (bearer(DISABLED), INVALID_KEY),
        ({"x-api-key": UNKNOWN}, INVALID_KEY),
        (bearer(ALICE.upper()), INVALID_KEY),
    ],
)
def test_refused_keys_never_reach_the_runtime(
    keyed: RestApiProcess, headers: dict[str, str], expected: tuple[int, bytes, str]
) -> None:
    assert_refused_before_the_runtime(
        keyed, lambda: request(keyed.root, "/prod/v1/models", method="GET", headers=headers), expected
    )


def test_a_path_outside_the_stage(keyed: RestApiProcess) -> None:
    for path in ("/", "/v1/models", "/production/", "/dev/prod/"):
        assert_refused_before_the_runtime(
            keyed, lambda p=path: request(keyed.root, p, body={}, headers=bearer(ALICE)), MISSING_TOKEN
        )


def test_the_quota_runs_out(keyed: RestApiProcess) -> None:
    for _ in range(2):
        assert post(keyed, "/prod/", {"scenario": "plain", "chunks": 1}, **bearer(QUOTA)).status == 200
    assert_refused_before_the_runtime(
        keyed, lambda: post(keyed, "/prod/", {"scenario": "plain"}, **bearer(QUOTA)), QUOTA_USED
    )


def test_the_throttle_refuses_a_burst(keyed: RestApiProcess) -> None:
    assert post(keyed, "/prod/", {"scenario": "plain", "chunks": 1}, **bearer(THROTTLED)).status == 200
    assert_refused_before_the_runtime(
        keyed, lambda: post(keyed, "/prod/", {"scenario": "plain"}, **bearer(THROTTLED)), THROTTLE
    )


def test_a_body_over_the_payload_limit(keyed: RestApiProcess) -> None:
    expected = (413, body("payload_too_large", "Request Too Long"), "RequestTooLongException")
    assert_refused_before_the_runtime(
        keyed,
        lambda: request(keyed.root, "/prod/", body=b"x" * (6 * 1024 * 1024 + 1), headers=bearer(ALICE)),
        expected,
    )


def test_function_failures_are_gateway_errors(keyed: RestApiProcess) -> None:
    failed = post(keyed, "/prod/", {"scenario": "error"}, **bearer(ALICE))
    assert_gateway_response(
        failed, (502, body("gateway_error", "Internal server error"), "InternalServerErrorException")
    )
    request_id = failed.header("x-amzn-RequestId")
    keyed.wait_for_log(rf"\[{request_id}\] Function\.Custom: handler refused")
    assert b"secret frame" not in failed.body
    # A prelude whose delimiter is past the first 16 KB: API Gateway cannot read the stream (500).
    long_prelude = {"scenario": "stream", "headers": {"x-big": "b" * (17 * 1024)}}
    unreadable = post(keyed, "/prod/", long_prelude, **bearer(ALICE))
    expected = (500, body("gateway_error", "Internal server error"), "InternalServerErrorException")
    assert_gateway_response(unreadable, expected)
    fits = post(
        keyed, "/prod/", {"scenario": "stream", "headers": {"x-big": "b" * (15 * 1024)}}, **bearer(ALICE)
    )
    assert (fits.status, fits.body) == (200, b"chunk-0;chunk-1;chunk-2;")


def test_a_timeout_before_the_first_byte_is_504(tmp_path: Path) -> None:
    keys = write_key_file(tmp_path, KEYS[:1])
    with RestApiProcess(raw_runtime_args("--timeout", "1", "--api-keys", str(keys))) as api:
        response = post(api, "/prod/", {"scenario": "hang"}, **bearer(ALICE))
        expected = (
            504,
            body("integration_timeout", "Endpoint request timed out"),
            "InternalServerErrorException",
        )
        assert_gateway_response(response, expected)


def test_the_emulator_pages_and_the_buffered_twin(keyed: RestApiProcess) -> None:
    health = request(keyed.root, "/_emulator/health", method="GET").json()
    assert (health["front"], health["status"]) == ("rest", "ok")
    page = request(keyed.root, "/_emulator/", method="GET")
    assert page.status == 200
    assert b'<meta name="emulator-api-base" content="/prod/">' in page.body
    chat = (REPO / "emulator" / "chat.html").read_bytes()
    assert page.body == chat.replace(b'content="/">', b'content="/prod/">', 1)
    buffered = post(keyed, "/_emulator/buffered/prod/", {"scenario": "stream", "chunks": 2}, **bearer(ALICE))
    assert (buffered.status, buffered.body, buffered.header("content-length")) == (
        200,
        b"chunk-0;chunk-1;",
        "16",
    )
    assert_refused_before_the_runtime(
        keyed, lambda: post(keyed, "/_emulator/buffered/prod/", {"scenario": "plain"}), UNAUTHORIZED
    )


def test_nothing_secret_in_the_log(keyed: RestApiProcess) -> None:
    post(keyed, "/prod/", {"scenario": "plain", "chunks": 1}, **bearer(ALICE))
    post(keyed, "/prod/", {"scenario": "plain", "chunks": 1}, **bearer(UNKNOWN))
    keyed.wait_for_log("REST API refused")  # the emulator's output can trail its reply
    log = keyed.log()
    for secret in EVERY_SECRET:
        assert secret not in log


def test_another_stage_and_no_authorizer(tmp_path: Path) -> None:
    with RestApiProcess(raw_runtime_args("--stage", "v2-test")) as api:
        assert api.url.endswith("/v2-test/")
        event = request(api.root, "/v2-test/anything", body={"scenario": "echo"}).json()
        assert event["requestContext"]["stage"] == "v2-test" and event["path"] == "/anything"
        assert "authorizer" not in event["requestContext"]
        assert event["requestContext"]["identity"]["apiKey"] is None
        assert_refused_before_the_runtime(api, lambda: request(api.root, "/prod/", body={}), MISSING_TOKEN)


def test_cognito_id_tokens(tmp_path: Path) -> None:
    pool = UserPool(tmp_path)
    (tmp_path / "stranger").mkdir()
    stranger = UserPool(tmp_path / "stranger", kid=pool.kid)  # the same kid, another key
    with RestApiProcess(raw_runtime_args(*pool.args())) as api:
        token = pool.token(sub="user-42", email="u@example.com")
        event = post(api, "/prod/v1/models", {"scenario": "echo"}, **bearer(token)).json()
        claims = event["requestContext"]["authorizer"]["claims"]
        assert (claims["sub"], claims["email"], claims["token_use"]) == ("user-42", "u@example.com", "id")
        assert all(isinstance(value, str) for value in claims.values())
        assert event["requestContext"]["identity"]["apiKey"] is None
        assert post(api, "/prod/", {"scenario": "echo"}, authorization=token).status == 200  # bare
        expired = pool.token(exp=int(time.time()) - 5, iat=int(time.time()) - 3600)
        for refused in (
            None,
            expired,
            stranger.token(),
            pool.token(kid="nope"),
        ):
            headers = bearer(refused) if refused else {}
            assert_refused_before_the_runtime(
                api, lambda h=headers: post(api, "/prod/", {}, **h), UNAUTHORIZED
            )
        assert token not in api.log() and expired not in api.log()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stage", "dev"], "--stage needs --front rest"),
        (["--api-keys", "k.json"], "--api-keys needs --front rest"),
        (["--front", "rest", "--auth", "AWS_IAM"], "--auth AWS_IAM is not emulated with --front rest"),
        (["--front", "rest", "--invoke-mode", "BUFFERED"], "STREAM transfer mode only"),
        (["--front", "rest", "--stage", "a/b"], "is not a stage name"),
        (["--front", "rest", "--stage", "_emulator"], "is not a stage name"),
        (["--front", "rest", "--api-keys", "/does/not/exist.json"], "--api-keys: cannot read"),
    ],
)
def test_option_errors(argv: list[str], message: str) -> None:
    result = run_emulator("serve", *argv)
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
