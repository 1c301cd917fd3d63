"""Routing by path (`routes.route`), reading a Function URL event that may be malformed
(`http_event.from_function_url`), and the models endpoints (`openai_models`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bedrock_handler import openai_models, routes
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import RequestError
from bedrock_handler.http_event import from_function_url
from bedrock_handler.routes import Endpoint
from handler_support import base_env, load_event

NATIVE, CHAT, MODELS, MODEL = (
    Endpoint.NATIVE_CHAT,
    Endpoint.OPENAI_CHAT,
    Endpoint.OPENAI_MODELS,
    Endpoint.OPENAI_MODEL,
)
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
ROUTES = [
    # OpenAI chat, under any prefix, trailing slash tolerated
    ("/v1/chat/completions", CHAT, ""),
    ("/v1/chat/completions/", CHAT, ""),
    ("/v1/chat/completions//", CHAT, ""),
    ("/prod/v1/chat/completions", CHAT, ""),
    ("/a/b/c/v1/chat/completions", CHAT, ""),
    ("/v1/models/v1/chat/completions", CHAT, ""),
    # model listing
    ("/v1/models", MODELS, ""),
    ("/v1/models/", MODELS, ""),  # an empty id is the list
    ("/v1/models//", MODELS, ""),
    ("/stage/v1/models", MODELS, ""),
    # one model, percent-decoded
    ("/v1/models/amazon.nova-lite-v1:0", MODEL, "amazon.nova-lite-v1:0"),
    ("/v1/models/amazon.nova-lite-v1:0/", MODEL, "amazon.nova-lite-v1:0"),
    (
        "/prod/v1/models/us.anthropic.claude-3-5-haiku-20241022-v1%3A0",
        MODEL,
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    ),
    ("/v1/models/" + ARN, MODEL, ARN),
    ("/v1/models/" + ARN.replace(":", "%3A").replace("/", "%2F"), MODEL, ARN),
    ("/v1/models/my%20alias", MODEL, "my alias"),
    ("/v1/models/%2F", MODEL, "/"),
    ("/v1/models/a/b", MODEL, "a/b"),
    ("/v1/models/gpt-4o", MODEL, "gpt-4o"),
    # everything else is the native API
    ("/", NATIVE, ""),
    ("", NATIVE, ""),
    ("//", NATIVE, ""),
    ("/chat", NATIVE, ""),
    ("/chat/space%20value", NATIVE, ""),
    ("/v1", NATIVE, ""),
    ("/v1/", NATIVE, ""),
    ("/v1/chat", NATIVE, ""),
    ("/v1/completions", NATIVE, ""),
    ("/v2/chat/completions", NATIVE, ""),
    ("/v1/chat/completionsx", NATIVE, ""),
    ("/xv1/chat/completions", NATIVE, ""),
    ("/v1/chat%2Fcompletions", NATIVE, ""),  # routed on the raw path: an encoded slash is not a separator
    ("/V1/CHAT/COMPLETIONS", NATIVE, ""),
    ("/v1/modelsx", NATIVE, ""),
    ("/v1/chat/completions?x=1", NATIVE, ""),  # rawPath never holds the query; such a path is not ours
]


@pytest.mark.parametrize(("path", "endpoint", "model_id"), ROUTES, ids=[r[0] or "(empty)" for r in ROUTES])
def test_route(path: str, endpoint: str, model_id: str) -> None:
    assert routes.route(path) == (endpoint, model_id)


# --- from_function_url never raises ------------------------------------------------------------------


def test_the_shared_fixture() -> None:
    http = from_function_url(load_event())
    assert (http.method, http.path) == ("POST", "/chat/space%20value")  # rawPath, not the decoded path
    assert http.headers["content-type"] == "application/json" and http.headers["x-multi"] == "v1,v2"
    assert http.query == {"format": "sse", "a": "1,2"}
    assert (http.raw_body, http.base64_body) == ('{"prompt": "Hello there", "maxTokens": 64}', False)


MALFORMED = [
    ("not an object", ["a", "list"], "", "/"),
    ("string", "event", "", "/"),
    ("null", None, "", "/"),
    ("empty object", {}, "", "/"),
    ("requestContext wrong type", {"requestContext": "x", "rawPath": "/v1/models"}, "", "/v1/models"),
    ("http wrong type", {"requestContext": {"http": [1]}}, "", "/"),
    (
        "rawPath missing",
        {"requestContext": {"http": {"method": "get", "path": "/v1/models"}}},
        "GET",
        "/v1/models",
    ),
    (
        "rawPath null",
        {"rawPath": None, "requestContext": {"http": {"method": "POST", "path": "/p"}}},
        "POST",
        "/p",
    ),
    ("rawPath number", {"rawPath": 5, "requestContext": {"http": {"path": "/p"}}}, "", "/p"),
    ("rawPath and path missing", {"requestContext": {"http": {"method": "POST"}}}, "POST", "/"),
    ("path empty", {"requestContext": {"http": {"path": ""}}}, "", "/"),
    ("path null", {"requestContext": {"http": {"path": None}}}, "", "/"),
    ("method number", {"requestContext": {"http": {"method": 7}}}, "7", "/"),
]


@pytest.mark.parametrize(
    ("event", "method", "path"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_event_is_read_without_raising(event: Any, method: str, path: str) -> None:
    http = from_function_url(event)
    assert (http.method, http.path) == (method, path)
    assert isinstance(http.headers, dict) and isinstance(http.query, dict)


@pytest.mark.parametrize(
    ("changes", "headers", "query", "body", "base64_body"),
    [
        (
            {"headers": ["x"]},
            {},
            {"format": "sse", "a": "1,2"},
            '{"prompt": "Hello there", "maxTokens": 64}',
            False,
        ),
        (
            {"headers": {"X-Num": 5, "Content-Type": "TEXT/Plain"}},
            {"x-num": "5", "content-type": "TEXT/Plain"},
            None,
            None,
            None,
        ),
        ({"queryStringParameters": "format=sse"}, None, {}, None, None),
        ({"body": 12, "isBase64Encoded": 1}, None, None, 12, True),
        ({"body": None, "isBase64Encoded": None}, None, None, None, False),
    ],
)
def test_event_parts_of_the_wrong_type(
    changes: dict[str, Any], headers: Any, query: Any, body: Any, base64_body: Any
) -> None:
    http = from_function_url(load_event(**changes))
    if headers is not None:
        assert http.headers == headers
    if query is not None:
        assert http.query == query
    if body is not None:
        assert http.raw_body == body
    if base64_body is not None:
        assert http.base64_body is base64_body


def test_an_odd_body_is_judged_by_the_endpoint_not_the_reader() -> None:
    http = from_function_url(load_event(body=12))
    with pytest.raises(RequestError, match="event body is not a string"):
        http.body_text(max_bytes=100)


# --- models ---------------------------------------------------------------------------------------

HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
CONFIG = HandlerConfig.from_env(
    base_env(
        MODEL_IDS=f"{HAIKU},{MISTRAL},{ARN}", MODEL_ALIASES=f"fast={MISTRAL},profile={ARN},claude={HAIKU}"
    )
)
REQUEST_ID = "req-models-1"


@pytest.mark.parametrize(
    ("model_id", "owner"),
    [
        (HAIKU, "anthropic"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic"),
        ("apac.amazon.nova-lite-v1:0", "amazon"),
        ("us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic"),
        ("jp.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic"),
        ("us.meta.llama3-1-8b-instruct-v1:0", "meta"),
        ("amazon.nova-lite-v1:0", "amazon"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        (MISTRAL, "mistral"),
        ("cohere.command-r-v1:0", "cohere"),
        ("us.nova", "us"),  # two parts only: the first is the provider
        ("plainid", "plainid"),
        (ARN, "bedrock"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0", "bedrock"),
    ],
)
def test_owner(model_id: str, owner: str) -> None:
    assert openai_models.owner(model_id) == owner


def models_request(path: str, method: str = "GET") -> Any:
    event = load_event(rawPath=path, body=None, queryStringParameters=None)
    event["requestContext"]["http"]["method"] = method
    http = from_function_url(event)
    return openai_models.answer(http, *routes.route(http.path), config=CONFIG, request_id=REQUEST_ID)


def read(response: Any) -> Any:
    assert response.status_code == 200
    assert response.headers == {"content-type": "application/json", "x-request-id": REQUEST_ID}
    return json.loads("".join(response.body))


def model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


def test_model_list_is_the_allow_list_then_the_aliases() -> None:
    assert read(models_request("/prod/v1/models")) == {
        "object": "list",
        "data": [
            model(HAIKU, "anthropic"),
            model(MISTRAL, "mistral"),
            model(ARN, "bedrock"),
            model("fast", "mistral"),
            model("profile", "bedrock"),
            model("claude", "anthropic"),
        ],
    }


def test_model_list_golden_bytes() -> None:
    config = HandlerConfig.from_env(
        base_env(MODEL_IDS="amazon.nova-lite-v1:0", MODEL_ALIASES="nova=amazon.nova-lite-v1:0")
    )
    http = from_function_url({"rawPath": "/v1/models", "requestContext": {"http": {"method": "GET"}}})
    response = openai_models.answer(http, *routes.route(http.path), config=config, request_id="r")
    assert "".join(response.body) == (
        '{"object":"list","data":['
        '{"id":"amazon.nova-lite-v1:0","object":"model","created":0,"owned_by":"amazon"},'
        '{"id":"nova","object":"model","created":0,"owned_by":"amazon"}]}'
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/v1/models/{HAIKU}", model(HAIKU, "anthropic")),
        ("/v1/models/us.anthropic.claude-3-5-haiku-20241022-v1%3A0", model(HAIKU, "anthropic")),
        ("/v1/models/fast", model("fast", "mistral")),
        (f"/v1/models/{ARN}", model(ARN, "bedrock")),
        ("/x/v1/models/" + ARN.replace("/", "%2F"), model(ARN, "bedrock")),
        ("/v1/models/profile/", model("profile", "bedrock")),
    ],
)
def test_one_model(path: str, expected: dict[str, Any]) -> None:
    assert read(models_request(path)) == expected


@pytest.mark.parametrize(
    "path", ["/v1/models/gpt-4o", "/v1/models/FAST", "/v1/models/%2F", "/v1/models/us.anthropic"]
)
def test_unknown_model_is_404(path: str) -> None:
    with pytest.raises(RequestError) as caught:
        models_request(path)
    error = caught.value
    assert (error.status, error.error_type, error.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", ""])
@pytest.mark.parametrize("path", ["/v1/models", f"/v1/models/{HAIKU}"])
def test_models_answer_get_only(path: str, method: str) -> None:
    with pytest.raises(RequestError) as caught:
        models_request(path, method)
    error = caught.value
    assert (error.status, error.error_type, error.headers) == (405, "method_not_allowed", (("allow", "GET"),))
