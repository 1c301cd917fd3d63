"""API Gateway REST proxy events (payload 1.0) at the handler's edge: read into the same `HttpRequest` a
Function URL event gives (`http_event.from_event`, `rest_event`), the caller's principal, the completion
notification, and both APIs end to end through the real `respond` with real botocore and the stand-in.

The `event` of tests/fixtures/rest_api_event_aws_example.json (shared with the emulator's event builder
test) is AWS's documented example event: Amazon API Gateway Developer Guide, "Input format of a Lambda
function for proxy integration"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format),
the `input` object of the example for `POST /testStage/hello/world?name=me`, as published in
awsdocs/amazon-api-gateway-developer-guide `doc_source/set-up-lambda-proxy-integrations.md` (commit
44c904c280db4d8b14a4f9a9f27912a1a117eee8). The page writes the `multiValueHeaders` names in single quotes
(not JSON); here they are JSON strings, and its empty `''` header is kept. `IAM_CONTEXT` is the same
section's `requestContext` "when the authorization type is set to AWS_IAM" (the fixture's
`iamRequestContext`).

The completion notifications are the third-party fixtures PROTOCOL.md §11.3 cites
(aussierobots/turul-mcp-framework `crates/turul-mcp-aws-lambda/src/fixtures/streaming_completion_*.json`);
AWS does not document them.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bedrock_handler import rest_event
from bedrock_handler.http_event import FUNCTION_URL, HttpRequest, from_event
from bedrock_handler.invocation import respond
from handler_support import FakeContext, load_event
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from streaming_runtime import wire

from emulator.bedrock_stub import BedrockStub
from emulator.config import EmulatorConfig
from emulator.invocations import BodyChunk, FunctionFailed, ResponseEnd, ResponseStart
from emulator.local_lambda import Emulator
from emulator.relay import next_event
from emulator.stub_replies import reply_tokens
from tests.support.emulator_process import hermetic_env

REST_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rest_api_event_aws_example.json"
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
REQUEST_ID = FakeContext().aws_request_id
SECRET = "sk-planted-4f1c9e7a2b8d6035"  # an API key value, a bearer token: never in a log line
MARKER = "wombat-marker-prompt"
Build = Callable[..., Any]

# AWS's documented example (the event, and the same section's AWS_IAM requestContext), shared with the
# emulator's event builder test.
DOCUMENTED = json.loads(REST_FIXTURE.read_text())
IAM_CONTEXT: dict[str, Any] = DOCUMENTED["iamRequestContext"]
COMPLETION_SUCCESS = {"requestId": "abc-123", "invokeCompletionStatus": "Success"}
COMPLETION_FAILURE = {"invokeCompletionStatus": "Failure", "errorCode": "Unhandled"}
COMPLETION_EXTRA = {
    "invokeCompletionStatus": "Success",
    "requestId": "abc-123",
    "extra": "field",
    "nested": {"a": 1},
}


def load_rest_event(**changes: Any) -> dict[str, Any]:
    """The documented REST example with top-level changes; `body` may be given as a dict."""
    event: dict[str, Any] = copy.deepcopy(DOCUMENTED["event"])
    if isinstance(changes.get("body"), dict):
        changes["body"] = json.dumps(changes["body"])
    event.update(changes)
    return event


def rest_request(
    body: Any,
    *,
    method: str = "POST",
    path: str = "/",
    query: dict[str, list[str]] | None = None,
    identity: dict[str, Any] | None = None,
    authorizer: dict[str, Any] | None = None,
    headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A REST event for one request to this function, built on the documented example: the body, the
    method, the resource path (the stage is in requestContext), the query and the caller's identity."""
    multi = {"Content-Type": ["application/json"], "Accept": ["*/*"], **(headers or {})}
    event = load_rest_event(
        httpMethod=method,
        path=path,
        body=body if body is None or isinstance(body, str | dict) else json.dumps(body),
        headers={name: values[-1] for name, values in multi.items()},
        multiValueHeaders=multi,
        queryStringParameters={name: values[-1] for name, values in query.items()} if query else None,
        multiValueQueryStringParameters=query,
        pathParameters={"proxy": path.lstrip("/")} if path != "/" else None,
    )
    context = event["requestContext"]
    context.update(httpMethod=method, path=f"/{context['stage']}{path}", resourcePath="/{proxy+}")
    context["identity"].update(identity or {})
    if authorizer is not None:
        context["authorizer"] = authorizer
    return event


def read(event: Any) -> HttpRequest:
    http = from_event(event)
    assert isinstance(http, HttpRequest)
    return http


def fields(http: HttpRequest) -> dict[str, Any]:
    return {name: getattr(http, name) for name in HttpRequest.__slots__}


# --- the documented example ----------------------------------------------------------------------------


def test_the_documented_example_golden() -> None:
    http = read(load_rest_event())
    assert fields(http) == {
        "method": "POST",
        "path": "/hello/world",  # the resource path: the stage (testStage) is not in it
        "headers": {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "cache-control": "no-cache",
            "cloudfront-forwarded-proto": "https",
            "cloudfront-is-desktop-viewer": "true",
            "cloudfront-is-mobile-viewer": "false",
            "cloudfront-is-smarttv-viewer": "false",
            "cloudfront-is-tablet-viewer": "false",
            "cloudfront-viewer-country": "US",
            "": "",
            "content-type": "application/json",
            "headername": "headerValue",
            "host": "gy415nuibc.execute-api.us-east-1.amazonaws.com",
            "postman-token": "9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f",
            "user-agent": "PostmanRuntime/2.4.5",
            "via": "1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
            "x-amz-cf-id": "pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
            "x-forwarded-for": "54.240.196.186, 54.182.214.83",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        # `queryStringParameters` holds the last value only ("me"); the multi-value map has both
        "query": {"name": "me", "multivalueName": "you,me"},
        "raw_body": '{\r\n\t"a": 1\r\n}',
        "base64_body": False,
        "door": "rest-api",
        "principal": None,  # no authorization type: nobody to name
    }
    assert http.is_json and http.body_text(max_bytes=100) == '{\r\n\t"a": 1\r\n}'


def test_the_same_request_through_either_door_reads_the_same() -> None:
    """The Function URL fixture's request (repeated header, repeated query key, cookie) as REST sends it."""
    url = read(load_event())
    headers = {
        "accept": ["text/event-stream"],
        "content-type": ["application/json"],
        "cookie": ["sid=abc; theme=dark"],
        "host": ["127.0.0.1"],
        "user-agent": ["fixture-client/1.0"],
        "x-multi": ["v1", "v2"],
        "x-forwarded-proto": ["http"],
        "x-forwarded-for": ["127.0.0.1"],
        "x-forwarded-port": ["3000"],
    }
    rest = read(
        {
            "httpMethod": "POST",
            "path": "/chat/space%20value",
            "headers": {name: values[-1] for name, values in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {"format": "sse", "a": "2"},
            "multiValueQueryStringParameters": {"format": ["sse"], "a": ["1", "2"]},
            "requestContext": {"stage": "prod", "path": "/prod/chat/space%20value", "httpMethod": "POST"},
            "body": url.raw_body,
            "isBase64Encoded": False,
        }
    )
    assert (url.door, rest.door) == (FUNCTION_URL, rest_event.REST_API)
    assert {**fields(rest), "door": None} == {**fields(url), "door": None}


# --- headers, query, body ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("single", "multi", "expected"),
    [
        ({"X-A": "1"}, None, {"x-a": "1"}),
        (None, {"X-A": ["1", "2"]}, {"x-a": "1,2"}),  # joined as a Function URL joins them
        ({"X-A": "2"}, {"X-A": ["1", "2"]}, {"x-a": "1,2"}),  # the multi-value map wins
        ({"x-a": "2"}, {"X-A": ["1", "2"]}, {"x-a": "1,2"}),  # whatever the case of either name
        ({"X-A": "2"}, {"X-A": []}, {"x-a": "2"}),  # an empty list is no value
        ({"X-A": "2"}, {"X-A": "1"}, {"x-a": "2"}),  # not a list: absent
        ({"X-A": "1"}, {"X-B": ["b"]}, {"x-a": "1", "x-b": "b"}),
        ({"X-A": 5}, {"X-B": [1, True]}, {"x-a": "5", "x-b": "1,True"}),  # read as text, like 2.0's
        ("x", ["y"], {}),
        (None, None, {}),
    ],
)
def test_multi_value_headers(single: Any, multi: Any, expected: dict[str, str]) -> None:
    http = read({"httpMethod": "GET", "headers": single, "multiValueHeaders": multi})
    assert http.headers == expected


@pytest.mark.parametrize(
    ("single", "multi", "expected"),
    [
        ({"format": "sse"}, None, {"format": "sse"}),
        ({"a": "2"}, {"a": ["1", "2"]}, {"a": "1,2"}),
        (None, {"A": ["1"]}, {"A": "1"}),  # names keep their case
        ({"a": "x"}, {"a": []}, {"a": "x"}),
        (None, None, {}),
        ([1], "q", {}),
    ],
)
def test_query_parameters(single: Any, multi: Any, expected: dict[str, str]) -> None:
    http = read(
        {"httpMethod": "GET", "queryStringParameters": single, "multiValueQueryStringParameters": multi}
    )
    assert http.query == expected


def test_a_base64_body_is_decoded_and_checked() -> None:
    raw = json.dumps({"prompt": "héllo"}).encode()
    http = read(load_rest_event(body=base64.b64encode(raw).decode(), isBase64Encoded=True))
    assert http.base64_body and http.body_text(max_bytes=100) == raw.decode()
    too_big = read(load_rest_event(body=base64.b64encode(b"x" * 200).decode(), isBase64Encoded=True))
    with pytest.raises(Exception, match="exceeds 100 bytes"):
        too_big.body_text(max_bytes=100)


# --- missing and mistyped fields; stage and path -----------------------------------------------------


@pytest.mark.parametrize(
    ("event", "method", "path"),
    [
        ({"httpMethod": "get"}, "GET", "/"),
        ({"httpMethod": None}, "", "/"),
        ({"httpMethod": 7}, "", "/"),  # not text: absent
        ({"httpMethod": None, "requestContext": {"httpMethod": "post"}}, "POST", "/"),
        ({"httpMethod": "GET", "path": None}, "GET", "/"),
        ({"httpMethod": "GET", "path": ""}, "GET", "/"),
        ({"httpMethod": "GET", "path": ["/v1/models"]}, "GET", "/"),
        ({"httpMethod": "GET", "requestContext": "x"}, "GET", "/"),
        ({"httpMethod": "GET", "requestContext": {"path": 5}}, "GET", "/"),
    ],
)
def test_missing_or_mistyped_parts_are_absent(event: dict[str, Any], method: str, path: str) -> None:
    http = read(event)
    assert (http.method, http.path, http.headers, http.query) == (method, path, {}, {})
    assert (http.raw_body, http.base64_body, http.door, http.principal) == (None, False, "rest-api", None)


def test_the_path_has_no_stage_and_routes_the_same_with_one(make_model: Build) -> None:
    config, model = make_model()
    event = rest_request(None, method="GET", path="/v1/models")
    assert event["requestContext"]["path"] == "/testStage/v1/models"
    assert read(event).path == "/v1/models"
    del event["path"]  # then requestContext.path, stage and all: routing by the path's end still holds
    assert read(event).path == "/testStage/v1/models"
    listing = respond(event, FakeContext(), config=config, model=model)
    assert listing.status_code == 200 and json.loads("".join(listing.body))["object"] == "list"


# --- the principal -------------------------------------------------------------------------------------

ARN = "arn:aws:iam::123456789012:user/alice"
PRINCIPALS = [
    ("anonymous (the documented example)", {}, None, None),
    (
        "api key: its id, never its value",
        {"apiKeyId": "k1a2b3c4d5e", "apiKey": SECRET},
        None,
        "apikey:k1a2b3c4d5e",
    ),
    (
        "api key through the key authorizer: the key id wins",
        {"apiKeyId": "k1a2b3c4d5e", "apiKey": SECRET},
        {"principalId": "apikey-0123456789abcdef", "integrationLatency": 12},
        "apikey:k1a2b3c4d5e",
    ),
    (
        "cognito: the sub claim",
        {"cognitoAuthenticationType": None},
        {
            "claims": {
                "sub": "7d8e9f00-aaaa-4bbb-8ccc-123456789abc",
                "email": "a@example.com",
                "token_use": "id",
            }
        },
        "cognito:7d8e9f00-aaaa-4bbb-8ccc-123456789abc",
    ),
    ("lambda authorizer: its principal", {}, {"principalId": "user|42", "role": "x"}, "authorizer:user|42"),
    ("iam (the documented AWS_IAM context)", IAM_CONTEXT["identity"], None, f"iam:{ARN}"),
    ("empty api key id", {"apiKeyId": "", "apiKey": SECRET}, None, None),
    (
        "empty values everywhere",
        {"apiKeyId": "", "userArn": ""},
        {"principalId": "", "claims": {"sub": ""}},
        None,
    ),
    ("mistyped values", {"apiKeyId": 5, "userArn": ["a"]}, {"principalId": {"a": 1}, "claims": "sub"}, None),
    ("claims without sub", {}, {"claims": {"email": "a@example.com"}}, None),
    ("cut to 256 characters", {"apiKeyId": "k" * 400}, None, "apikey:" + "k" * 249),
]


@pytest.mark.parametrize(
    ("identity", "authorizer", "principal"), [p[1:] for p in PRINCIPALS], ids=[p[0] for p in PRINCIPALS]
)
def test_rest_principal(identity: dict[str, Any], authorizer: Any, principal: str | None) -> None:
    http = read(rest_request({"prompt": "x"}, identity=identity, authorizer=authorizer))
    assert (http.door, http.principal) == ("rest-api", principal)


def test_rest_principal_of_the_documented_iam_context() -> None:
    http = read(load_rest_event(requestContext=copy.deepcopy(IAM_CONTEXT), path="/"))
    assert (http.method, http.principal) == ("POST", f"iam:{ARN}")


@pytest.mark.parametrize(
    ("authorizer", "principal"),
    [
        (None, None),  # an auth NONE URL
        ({"iam": {"accessKey": "AKIA…", "accountId": "111122223333", "userArn": ARN}}, f"iam:{ARN}"),
        ({"iam": {"userArn": "a" * 300}}, "iam:" + "a" * 252),
        ({"iam": {"userArn": None}}, None),
        ({"iam": "x"}, None),
        ("x", None),
        ([1], None),
    ],
)
def test_function_url_iam_principal(authorizer: Any, principal: str | None) -> None:
    event = load_event()
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    http = read(event)
    assert (http.door, http.principal) == ("function-url", principal)


# --- which shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [COMPLETION_SUCCESS, COMPLETION_FAILURE, COMPLETION_EXTRA])
def test_the_completion_notification_is_no_request(event: dict[str, Any]) -> None:
    assert from_event(event) is None


def test_an_http_event_is_never_taken_for_a_completion() -> None:
    with_method = {**COMPLETION_SUCCESS, "httpMethod": "POST", "path": "/mcp"}
    assert read(with_method).door == "rest-api"
    with_http = {**COMPLETION_SUCCESS, "requestContext": {"http": {"method": "POST"}}, "rawPath": "/"}
    assert read(with_http).door == "function-url"
    # not the notification's key, and no HTTP event: a direct invocation (see test_direct_event.py)
    assert from_event({"invokeCompletion": "Success"}) is None


# --- fuzzed shapes never raise -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
REST_KEYS = [
    "httpMethod",
    "path",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "body",
    "isBase64Encoded",
    "requestContext",
]
CONTEXT_KEYS = ["identity", "authorizer", "path", "httpMethod", "stage"]


@st.composite
def rest_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """The documented example with any of its parts, or of its requestContext's, replaced by any JSON."""
    event = load_rest_event()
    for key in draw(st.lists(st.sampled_from(REST_KEYS), max_size=4)):
        event[key] = draw(json_values)
    if isinstance(event.get("requestContext"), dict):
        for key in draw(st.lists(st.sampled_from(CONTEXT_KEYS), max_size=3)):
            event["requestContext"][key] = draw(
                json_values
                | st.dictionaries(
                    st.sampled_from(["apiKeyId", "userArn", "principalId", "claims", "sub"]), json_values
                )
            )
    event["httpMethod"] = event.get("httpMethod")  # still a REST event, whatever its method became
    return event


def _well_formed(http: HttpRequest) -> None:
    assert isinstance(http.method, str) and isinstance(http.path, str)
    assert http.path or http.door == "function-url"  # a Function URL's empty rawPath stays as it was
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in http.headers.items())
    assert http.door in ("function-url", "rest-api")
    assert http.principal is None or (isinstance(http.principal, str) and len(http.principal) <= 256)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(rest_shaped())
def test_fuzzed_rest_events_never_raise(event: dict[str, Any]) -> None:
    http = read(event)
    _well_formed(http)
    assert http.door == "rest-api"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in http.query.items())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    json_values
    | st.dictionaries(
        st.sampled_from([*REST_KEYS, "rawPath", "invokeCompletionStatus", "errorCode", "version"]),
        json_values,
    )
)
def test_any_json_never_raises(event: Any) -> None:
    http = from_event(event)
    is_rest = isinstance(event, dict) and "httpMethod" in event
    context = event.get("requestContext") if isinstance(event, dict) else None
    is_function_url = isinstance(context, dict) and isinstance(context.get("http"), dict)
    if http is None:  # a completion notification or a direct invocation: told apart by `respond`
        assert not is_rest and not is_function_url
    else:
        _well_formed(http)
        assert http.door == ("rest-api" if is_rest else "function-url")
        assert is_rest or is_function_url


# --- end to end through `respond` (real botocore, the real stand-in) -----------------------------------


def lines(caplog: pytest.LogCaptureFixture, kind: str = "invocation") -> list[dict[str, Any]]:
    found = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event"')]
    return [line for line in found if line["event"] == kind]


def sse(text: str) -> list[Any]:
    payloads = []
    for event in text[:-2].split("\n\n"):
        payload = event.removeprefix("data: ")
        payloads.append(payload if payload == "[DONE]" else json.loads(payload))
    return payloads


def test_native_chat_through_a_rest_event(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model()
    event = rest_request(
        {"prompt": "hello rest @stub:tokens=4"},
        query={"format": ["ndjson"]},
        identity={"apiKeyId": "k0123456789", "apiKey": SECRET},
    )
    response = respond(event, FakeContext(), config=config, model=model)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    events = [json.loads(line) for line in "".join(response.body).splitlines()]
    assert [e["text"] for e in events[:-1]] == reply_tokens("hello rest", 4)
    assert events[-1]["type"] == "done" and events[-1]["stopReason"] == "end_turn"
    [line] = lines(caplog)
    assert (line["status"], line["format"], line["modelId"]) == (200, "ndjson", HAIKU)
    assert (line["door"], line["principal"]) == ("rest-api", "apikey:k0123456789")


def test_openai_stream_through_a_rest_event(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model()
    body = {
        "model": HAIKU,
        "messages": [{"role": "user", "content": "hi rest @stub:tokens=3"}],
        "stream": True,
    }
    claims = {"claims": {"sub": "sub-1", "email": "a@example.com"}}
    response = respond(
        rest_request(body, path="/v1/chat/completions", authorizer=claims),
        FakeContext(),
        config=config,
        model=model,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    *chunks, done = sse("".join(response.body))
    assert done == "[DONE]"
    parsed = [ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    assert "".join(c.choices[0].delta.content or "" for c in parsed if c.choices) == "".join(
        reply_tokens("hi rest", 3)
    )
    [line] = lines(caplog)
    assert (line["format"], line["door"], line["principal"]) == ("openai-sse", "rest-api", "cognito:sub-1")


def test_openai_whole_reply_through_a_rest_event(make_model: Build) -> None:
    config, model = make_model()
    body = {"model": HAIKU, "messages": [{"role": "user", "content": "whole rest @stub:tokens=5"}]}
    response = respond(
        rest_request(body, path="/v1/chat/completions"), FakeContext(), config=config, model=model
    )
    completion = ChatCompletion.model_validate(json.loads("".join(response.body)))
    assert completion.choices[0].message.content == "".join(reply_tokens("whole rest", 5))


def test_models_embeddings_and_errors_log_door_and_principal(
    make_model: Build, caplog: pytest.LogCaptureFixture, stub: BedrockStub
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model(EMBEDDING_MODEL_IDS=TITAN)
    who = {"principalId": "user|7"}
    listing = respond(
        rest_request(None, method="GET", path="/v1/models", authorizer=who),
        FakeContext(),
        config=config,
        model=model,
    )
    assert HAIKU in [m["id"] for m in json.loads("".join(listing.body))["data"]]
    embedded = respond(
        rest_request({"model": TITAN, "input": "two words"}, path="/v1/embeddings", authorizer=who),
        FakeContext(),
        config=config,
        model=model,
    )
    assert len(CreateEmbeddingResponse.model_validate(json.loads("".join(embedded.body))).data) == 1
    before = len(stub.requests)
    refused = respond(
        rest_request({"prompt": MARKER, "temperature": 9}, authorizer=who),
        FakeContext(),
        config=config,
        model=model,
    )
    wrong_method = respond(
        rest_request(None, method="GET", authorizer=who), FakeContext(), config=config, model=model
    )
    assert (refused.status_code, wrong_method.status_code, len(stub.requests)) == (400, 405, before)
    logged = lines(caplog)
    assert [(line["format"], line["status"], line["errorType"]) for line in logged] == [
        ("openai-models", 200, None),
        ("openai-embeddings", 200, None),
        (None, 400, "invalid_request"),
        (None, 405, "method_not_allowed"),
    ]
    assert {(line["door"], line["principal"]) for line in logged} == {("rest-api", "authorizer:user|7")}


def test_function_url_log_line_names_its_door_and_iam_caller(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model()
    anonymous = load_event(body={"prompt": "a @stub:tokens=2"})
    signed = load_event(body={"prompt": "b @stub:tokens=2"})
    signed["requestContext"]["authorizer"] = {"iam": {"userArn": ARN, "accessKey": "AKIAPLANTED"}}
    for event in (anonymous, signed):
        "".join(respond(event, FakeContext(), config=config, model=model).body)
    assert [(line["door"], line["principal"]) for line in lines(caplog)] == [
        ("function-url", None),
        ("function-url", f"iam:{ARN}"),
    ]
    assert "AKIAPLANTED" not in caplog.text


def test_a_planted_key_and_token_never_reach_a_log_line(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    """The key value, the Authorization and x-api-key headers and a token in the authorizer context, on
    success, refusal, model listing and a Bedrock error, with every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    config, model = make_model()
    secrets = {
        "identity": {"apiKeyId": "k0123456789", "apiKey": SECRET},
        "authorizer": {"principalId": "apikey-0123456789abcdef", "token": SECRET},
        "headers": {"Authorization": [f"Bearer {SECRET}"], "x-api-key": [SECRET]},
    }
    requests = [
        rest_request({"prompt": "ok @stub:tokens=3"}, **secrets),
        rest_request({"prompt": "x", "maxTokens": "lots"}, **secrets),
        rest_request(None, method="GET", path="/v1/models", **secrets),
        rest_request({"prompt": "throttle me @stub:throttle"}, **secrets),
        rest_request(
            {"model": HAIKU, "messages": [{"role": "user", "content": "y"}]},
            path="/v1/chat/completions",
            **secrets,
        ),
    ]
    statuses = []
    for event in requests:
        response = respond(event, FakeContext(), config=config, model=model)
        "".join(response.body)
        statuses.append(response.status_code)
    assert statuses == [200, 400, 200, 429, 200]
    logged = lines(caplog)
    assert len(logged) == len(requests)
    assert {line["principal"] for line in logged} == {"apikey:k0123456789"}
    assert SECRET not in caplog.text
    assert SECRET in json.dumps(requests)  # the scan looks for what was really sent


# --- the completion notification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (COMPLETION_SUCCESS, {"event": "completion", "status": "Success"}),
        (COMPLETION_FAILURE, {"event": "completion", "status": "Failure", "errorCode": "Unhandled"}),
        (COMPLETION_EXTRA, {"event": "completion", "status": "Success"}),
        (
            {"invokeCompletionStatus": "S" * 500, "errorCode": None},
            {"event": "completion", "status": "S" * 64, "errorCode": None},
        ),
    ],
)
def test_the_completion_notification_is_acknowledged_quietly(
    make_model: Build, caplog: pytest.LogCaptureFixture, stub: BedrockStub, event: Any, line: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model()
    before = len(stub.requests)
    response = respond(event, FakeContext(), config=config, model=model)
    assert (response.status_code, dict(response.headers), list(response.body)) == (200, {}, [])
    assert response.prelude() == b'{"statusCode":200,"headers":{},"cookies":[]}' + b"\x00" * 8
    assert [json.loads(r.getMessage()) for r in caplog.records] == [line]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert lines(caplog) == [] and len(stub.requests) == before


# --- through the real runtime: the empty acknowledgement still carries its prelude ----------------------


def invoke(emulator: Emulator, event: dict[str, Any]) -> list[object]:
    sandbox = emulator.pool.acquire(timeout=30)
    invocation = sandbox.invoke(json.dumps(event).encode())
    events: list[object] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events.append(next_event(invocation))
        if isinstance(events[-1], ResponseEnd | FunctionFailed):
            break
    return events


def test_rest_event_and_completion_through_the_real_runtime(capfd: pytest.CaptureFixture[str]) -> None:
    config = EmulatorConfig(port=0, timeout=30, env=(("BEDROCK_MAX_ATTEMPTS", "1"),), log_level="WARNING")
    with Emulator(config, environ=hermetic_env()) as emulator:
        chat = invoke(
            emulator, rest_request({"prompt": "runtime rest @stub:tokens=3"}, identity={"apiKeyId": "kRT"})
        )
        ack = invoke(emulator, COMPLETION_FAILURE)
    for events in (chat, ack):
        start, *chunks, end = events
        assert isinstance(start, ResponseStart) and start.content_type == wire.CONTENT_TYPE_HTTP_INTEGRATION
        assert (
            all(isinstance(c, BodyChunk) for c in chunks)
            and isinstance(end, ResponseEnd)
            and end.error is None
        )
    split = wire.split_prelude(b"".join(c.data for c in chat[1:-1] if isinstance(c, BodyChunk)))
    assert split is not None and split[0].status_code == 200
    assert split[1].decode() == "".join(reply_tokens("runtime rest", 3))
    # The acknowledgement: the prelude and its 8 NULs, and nothing after them.
    assert b"".join(c.data for c in ack[1:-1] if isinstance(c, BodyChunk)) == (
        b'{"statusCode":200,"headers":{},"cookies":[]}' + b"\x00" * 8
    )
    log = capfd.readouterr().err
    logged = [json.loads(text[text.index("{") :]) for text in log.splitlines() if '{"event":' in text]
    assert [(line["event"], line.get("door"), line.get("principal")) for line in logged] == [
        ("invocation", "rest-api", "apikey:kRT"),
        ("completion", None, None),
    ]
    assert logged[1] == {"event": "completion", "status": "Failure", "errorCode": "Unhandled"}
