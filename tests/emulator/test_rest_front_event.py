"""The REST proxy event builder (payload 1.0, PROTOCOL.md §11.2), checked field by field against AWS's
documented example event.

tests/fixtures/rest_api_event_aws_example.json is copied from the Amazon API Gateway Developer Guide,
"Set up Lambda proxy integrations in API Gateway", section "Input format of a Lambda function for proxy
integration" (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
#api-gateway-simple-proxy-for-lambda-input-format; source awsdocs/amazon-api-gateway-developer-guide,
doc_source/set-up-lambda-proxy-integrations.md): `event` is the input event of the guide's request
`POST /testStage/hello/world?name=me` (its multiValueHeaders were written with single quotes there), and
`iamRequestContext` the guide's `requestContext` example for an AWS_IAM method.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from emulator.rest_event import Caller, StagePath, build_event, new_extended_request_id, split_stage
from emulator.url_event import HttpRequest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rest_api_event_aws_example.json"
AWS = json.loads(FIXTURE.read_text(encoding="utf-8"))
AWS_EVENT: dict[str, Any] = AWS["event"]
EPOCH_MS = 1795849200000
# Fields the DefinitelyTyped types (PROTOCOL.md §11.2) allow to be null where AWS's example has a value.
# Every identity field is `string | null`; the IAM ones are null without IAM authorization.
NULLABLE = {
    "stageVariables",
    "pathParameters",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    *("accessKey", "accountId", "caller", "user", "userArn"),
}


def _aws_request() -> tuple[HttpRequest, StagePath]:
    """The guide's request. Its event shows `multivalueName=you&multivalueName=me` although its request
    line shows only `name=me`; the query here has all three, as the event says. The example's odd
    `"": [""]` header cannot be sent over HTTP (a header needs a name), so it is left out."""
    target = "/testStage/hello/world?name=me&multivalueName=you&multivalueName=me"
    headers = [
        (name, value) for name, values in AWS_EVENT["multiValueHeaders"].items() if name for value in values
    ]
    request = HttpRequest(
        method="POST",
        target=target,
        headers=headers,
        body=AWS_EVENT["body"].encode("utf-8"),
        source_ip=AWS_EVENT["requestContext"]["identity"]["sourceIp"],
        server_port=443,
    )
    where = split_stage(target, "testStage")
    assert where is not None
    return request, where


def _event(
    method: str = "POST",
    target: str = "/prod/v1/chat/completions",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    caller: Caller | None = None,
) -> dict[str, Any]:
    request = HttpRequest(
        method=method,
        target=target,
        headers=headers if headers is not None else [("Host", "127.0.0.1:3000")],
        body=body,
        source_ip="127.0.0.1",
        server_port=3000,
    )
    where = split_stage(target, "prod")
    assert where is not None
    return build_event(
        request, where, request_id="rid", extended_request_id="ext=", epoch_ms=EPOCH_MS, caller=caller
    )


# Maps whose keys are the request's data (checked by value elsewhere): only their value types count here.
DATA_MAPS = {"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"}


def _assert_same_shape(ours: Any, theirs: Any, where: str) -> None:
    """Every key AWS's example has is in ours, with a value of the same JSON type (recursively)."""
    if where.rsplit(".", 1)[-1] in DATA_MAPS:
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        sample = next(iter(theirs.values()))
        for key, value in ours.items():
            _assert_same_shape(value, sample, f"{where}[{key!r}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        for key, value in theirs.items():
            assert key in ours, f"{where}.{key} is missing"
            if value is None or (key in NULLABLE and ours[key] is None):
                continue
            _assert_same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: {ours!r} is not a list"
        for item in ours:
            _assert_same_shape(item, theirs[0], f"{where}[]")
    else:
        assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} is not {type(theirs).__name__}"


def test_the_guides_request_gives_the_guides_event_field_by_field() -> None:
    request, where = _aws_request()
    ours = build_event(request, where, request_id="deef4878", extended_request_id="x=", epoch_ms=EPOCH_MS)
    _assert_same_shape(ours, AWS_EVENT, "event")
    assert list(ours)[:3] == ["resource", "path", "httpMethod"]
    for key in ("resource", "path", "httpMethod", "queryStringParameters", "multiValueQueryStringParameters"):
        assert ours[key] == AWS_EVENT[key], key
    for key in ("pathParameters", "body", "isBase64Encoded", "headers"):
        assert ours[key] == AWS_EVENT[key], key
    assert ours["multiValueHeaders"] == {k: v for k, v in AWS_EVENT["multiValueHeaders"].items() if k}
    assert ours["stageVariables"] is None  # the emulated stage has no stage variables
    context, aws_context = ours["requestContext"], AWS_EVENT["requestContext"]
    for key in ("resourcePath", "httpMethod", "stage"):
        assert context[key] == aws_context[key], key
    assert (context["requestId"], context["identity"]["sourceIp"]) == ("deef4878", "192.168.196.186")
    assert context["identity"]["userAgent"] == aws_context["identity"]["userAgent"]
    assert context["identity"]["apiKey"] is None and "authorizer" not in context  # no authorizer: none


def test_the_request_context_has_every_field_of_the_guides_iam_example() -> None:
    host = ("Host", "abc.execute-api.us-east-1.amazonaws.com")
    ours = _event("GET", "/prod/", headers=[host, ("User-Agent", "PostmanRuntime/7.1.1")])
    aws_context = AWS["iamRequestContext"]
    _assert_same_shape(ours["requestContext"], aws_context, "requestContext")
    context = ours["requestContext"]
    assert (context["path"], context["resourcePath"], context["httpMethod"]) == ("/prod/", "/", "GET")
    assert context["protocol"] == aws_context["protocol"] == "HTTP/1.1"
    time_format = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000"
    assert re.fullmatch(time_format, aws_context["requestTime"])
    assert context["requestTime"] == "28/Nov/2026:07:00:00 +0000"
    assert context["requestTimeEpoch"] == EPOCH_MS
    assert (context["domainName"], context["domainPrefix"]) == (
        "abc.execute-api.us-east-1.amazonaws.com",
        "abc",
    )
    # The fields API Gateway fills only for IAM (and Cognito identity pools) stay null here.
    assert all(
        context["identity"][key] is None for key in ("accessKey", "caller", "user", "userArn", "accountId")
    )


def test_every_value_has_the_documented_type() -> None:
    """PROTOCOL.md §11.2 (DefinitelyTyped): strings, an integer epoch, objects or null."""
    event = _event(headers=[("Host", "h"), ("User-Agent", "ua")], body=b"{}")
    context = event["requestContext"]
    for key in ("accountId", "apiId", "resourceId", "resourcePath", "httpMethod", "path", "stage"):
        assert isinstance(context[key], str), key
    for key in ("requestId", "requestTime", "extendedRequestId", "domainName", "domainPrefix", "protocol"):
        assert isinstance(context[key], str), key
    assert type(context["requestTimeEpoch"]) is int
    assert all(value is None or isinstance(value, str) for key, value in context["identity"].items())
    assert (context["identity"]["sourceIp"], context["identity"]["userAgent"]) == ("127.0.0.1", "ua")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/prod", StagePath("prod", "/", "/prod", "")),
        ("/prod/", StagePath("prod", "/", "/prod/", "")),
        ("/prod/v1/models?x=1", StagePath("prod", "/v1/models", "/prod/v1/models", "x=1")),
        ("/prod/a%2Fb", StagePath("prod", "/a%2Fb", "/prod/a%2Fb", "")),
        ("/", None),
        ("/production/", None),
        ("/dev/prod/", None),
        ("/PROD/", None),
    ],
)
def test_split_stage(target: str, expected: StagePath | None) -> None:
    assert split_stage(target, "prod") == expected


def test_root_and_proxy_resources() -> None:
    root = _event("GET", "/prod")
    assert (root["resource"], root["path"], root["pathParameters"]) == ("/", "/", None)
    assert (root["requestContext"]["resourceId"], root["requestContext"]["path"]) == ("root00", "/prod")
    proxy = _event("POST", "/prod/v1/a%20b/c")
    assert (proxy["resource"], proxy["path"]) == ("/{proxy+}", "/v1/a%20b/c")  # still encoded, as AWS
    assert proxy["pathParameters"] == {"proxy": "v1/a b/c"}  # decoded, as AWS
    assert proxy["requestContext"]["path"] == "/prod/v1/a%20b/c"


def test_query_parameters_single_and_multi() -> None:
    event = _event(target="/prod/x?a=1&a=2&b=&c=%41+b")
    assert event["queryStringParameters"] == {"a": "2", "b": "", "c": "A b"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""], "c": ["A b"]}
    none = _event(target="/prod/x")
    assert none["queryStringParameters"] is None and none["multiValueQueryStringParameters"] is None


def test_headers_keep_their_spelling_and_every_value() -> None:
    headers = [("Host", "h"), ("X-Multi", "v1"), ("x-multi", "v2"), ("X-Forwarded-For", "10.0.0.1")]
    event = _event(headers=headers)
    assert event["headers"]["X-Multi"] == "v2" and "x-multi" not in event["headers"]
    assert event["multiValueHeaders"]["X-Multi"] == ["v1", "v2"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1"  # the client's, not replaced
    assert (event["headers"]["X-Forwarded-Port"], event["headers"]["X-Forwarded-Proto"]) == ("3000", "http")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", (None, False)),
        (b'{"prompt": "h\xc3\xa9"}', ('{"prompt": "hé"}', False)),
        (b"\xff\x00\xfe", (base64.b64encode(b"\xff\x00\xfe").decode(), True)),
    ],
)
def test_body_text_or_base64(body: bytes, expected: tuple[str | None, bool]) -> None:
    event = _event(body=body, headers=[("Host", "h"), ("Content-Type", "application/octet-stream")])
    assert (event["body"], event["isBase64Encoded"]) == expected


def test_the_caller_fills_identity_and_authorizer() -> None:
    authorizer = {"authMethod": "api-key", "principalId": "apikey-0011223344556677", "integrationLatency": 0}
    caller = Caller(api_key="sk-the-key-value-0123456789", api_key_id="k0123456789", authorizer=authorizer)
    event = _event(caller=caller)
    identity = event["requestContext"]["identity"]
    assert (identity["apiKey"], identity["apiKeyId"]) == ("sk-the-key-value-0123456789", "k0123456789")
    assert event["requestContext"]["authorizer"] == authorizer
    claims = _event(caller=Caller(authorizer={"claims": {"sub": "s"}}))["requestContext"]["authorizer"]
    assert claims == {"claims": {"sub": "s"}}


def test_extended_request_ids_look_like_api_gateways() -> None:
    ids = {new_extended_request_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{16}=", value) for value in ids)
