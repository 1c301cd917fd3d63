"""Native-API request parsing and validation of Function URL events, one case per bad-input class."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest
from bedrock_handler import native_request
from bedrock_handler.chat import Message
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import RequestError
from bedrock_handler.http_event import from_function_url
from bedrock_handler.native_output import OutputFormat
from handler_support import base_env, load_event

CONFIG = HandlerConfig.from_env(base_env(MAX_TOKENS_LIMIT="2000", MAX_REQUEST_BYTES="1000"))
SECRET = "zebra-marker-prompt"


def parse_event(event: Any, *, config: HandlerConfig) -> SimpleNamespace:
    """The native edge's reading of a Function URL event: the request's fields and the output format."""
    call = native_request.parse(from_function_url(event), config=config)
    return SimpleNamespace(**call.request._asdict(), output_format=call.output_format)


def test_shared_fixture_parses() -> None:
    request = parse_event(load_event(), config=CONFIG)
    assert request.messages == (Message("user", "Hello there"),)
    assert request.max_tokens == 64
    assert request.model_id == CONFIG.default_model_id
    assert request.output_format is OutputFormat.SSE  # ?format=sse in the fixture


def test_full_json_request() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [{"text": "b"}, {"text": "c"}]},
            {"role": "user", "content": [{"text": "d"}]},
        ],
        "system": "be brief",
        "modelId": "mistral.mistral-7b-instruct-v0:2",
        "temperature": 0,
        "topP": 1,
        "stopSequences": ["END"],
    }
    request = parse_event(load_event(body=body, queryStringParameters=None), config=CONFIG)
    assert [m.text for m in request.messages] == ["a", "b\nc", "d"]
    assert (request.system, request.model_id) == ("be brief", "mistral.mistral-7b-instruct-v0:2")
    assert (request.temperature, request.top_p, request.stop_sequences) == (0.0, 1.0, ("END",))
    assert request.max_tokens == CONFIG.default_max_tokens


def test_text_plain_body_is_the_prompt() -> None:
    event = load_event(body="just text {not json", headers={"content-type": "text/plain; charset=utf-8"})
    assert parse_event(event, config=CONFIG).messages == (Message("user", "just text {not json"),)


def test_base64_body_is_decoded() -> None:
    raw = json.dumps({"prompt": "héllo"}).encode()
    event = load_event(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert parse_event(event, config=CONFIG).messages[0].text == "héllo"


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (None, "", OutputFormat.TEXT),
        (None, "text/event-stream", OutputFormat.SSE),
        (None, "application/x-ndjson", OutputFormat.NDJSON),
        ({"format": "ndjson"}, "text/event-stream", OutputFormat.NDJSON),
        ({"format": "text"}, "text/event-stream", OutputFormat.TEXT),
    ],
)
def test_output_format_from_query_or_accept(query: Any, accept: str, expected: OutputFormat) -> None:
    event = load_event(
        queryStringParameters=query, headers={"content-type": "application/json", "accept": accept}
    )
    assert parse_event(event, config=CONFIG).output_format is expected


def _json(body: Any) -> dict[str, Any]:
    return load_event(body=json.dumps(body))


BAD_INPUTS = [
    ("body not JSON", load_event(body="{nope"), 400, "not valid JSON"),
    ("JSON array", _json([1, 2]), 400, "must be an object"),
    ("JSON string", _json("hi"), 400, "must be an object"),
    ("empty prompt", _json({"prompt": "  "}), 400, "prompt must not be empty"),
    ("non-string prompt", _json({"prompt": 5}), 400, "prompt must be a string"),
    ("prompt and messages", _json({"prompt": "a", "messages": []}), 400, "exactly one"),
    ("neither", _json({"system": "x"}), 400, "exactly one"),
    ("unknown field", _json({"prompt": "a", "max_tokens": 5}), 400, "unknown field 'max_tokens'"),
    ("messages not list", _json({"messages": "hi"}), 400, "non-empty list"),
    ("messages empty", _json({"messages": []}), 400, "non-empty list"),
    ("message not object", _json({"messages": ["hi"]}), 400, "messages[0] must be an object"),
    ("bad role", _json({"messages": [{"role": "system", "content": "x"}]}), 400, "role must be"),
    ("empty content", _json({"messages": [{"role": "user", "content": ""}]}), 400, "must not be empty"),
    ("empty content list", _json({"messages": [{"role": "user", "content": []}]}), 400, "content must be"),
    ("content wrong type", _json({"messages": [{"role": "user", "content": 7}]}), 400, "content must be"),
    (
        "block wrong shape",
        _json({"messages": [{"role": "user", "content": [{"image": 1}]}]}),
        400,
        "content[0]",
    ),
    ("block text not str", _json({"messages": [{"role": "user", "content": [{"text": 1}]}]}), 400, "string"),
    ("starts with assistant", _json({"messages": [{"role": "assistant", "content": "x"}]}), 400, "alternate"),
    (
        "ends with assistant",
        _json({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}),
        400,
        "last message",
    ),
    ("system not string", _json({"prompt": "a", "system": ["x"]}), 400, "system must be a string"),
    (
        "model outside allow-list",
        _json({"prompt": "a", "modelId": "evil.model"}),
        400,
        "modelId is not allowed",
    ),
    ("model not string", _json({"prompt": "a", "modelId": 3}), 400, "modelId is not allowed"),
    ("maxTokens negative", _json({"prompt": "a", "maxTokens": -1}), 400, "between 1 and 2000"),
    ("maxTokens zero", _json({"prompt": "a", "maxTokens": 0}), 400, "between 1 and 2000"),
    ("maxTokens huge", _json({"prompt": "a", "maxTokens": 10**9}), 400, "between 1 and 2000"),
    ("maxTokens float", _json({"prompt": "a", "maxTokens": 5.5}), 400, "must be an integer"),
    ("maxTokens string", _json({"prompt": "a", "maxTokens": "5"}), 400, "must be an integer"),
    ("maxTokens bool", _json({"prompt": "a", "maxTokens": True}), 400, "must be an integer"),
    ("temperature above 1", _json({"prompt": "a", "temperature": 1.5}), 400, "temperature must be between"),
    ("temperature negative", _json({"prompt": "a", "temperature": -0.1}), 400, "temperature must be between"),
    ("temperature string", _json({"prompt": "a", "temperature": "hot"}), 400, "temperature must be a number"),
    ("topP above 1", _json({"prompt": "a", "topP": 2}), 400, "topP must be between"),
    ("topP negative", _json({"prompt": "a", "topP": -1}), 400, "topP must be between"),
    ("stopSequences not list", _json({"prompt": "a", "stopSequences": "x"}), 400, "stopSequences"),
    ("stopSequences too many", _json({"prompt": "a", "stopSequences": ["x"] * 9}), 400, "at most 8"),
    ("stopSequence empty", _json({"prompt": "a", "stopSequences": [""]}), 400, "each stop sequence"),
    ("prompt lone surrogate", _json({"prompt": "a \ud800"}), 400, "prompt is not valid Unicode"),
    ("system lone surrogate", _json({"prompt": "a", "system": "\udfff"}), 400, "system is not valid Unicode"),
    (
        "stopSequence lone surrogate",
        _json({"prompt": "a", "stopSequences": ["ok", "\ud800"]}),
        400,
        "stopSequences is not valid Unicode",
    ),
    ("body too large", _json({"prompt": "x" * 2000}), 413, "exceeds 1000 bytes"),
    (
        "base64 body too large",
        load_event(body=base64.b64encode(b"x" * 1500).decode(), isBase64Encoded=True),
        413,
        "exceeds 1000 bytes",
    ),
    ("invalid base64", load_event(body="!!!not base64!!!", isBase64Encoded=True), 400, "not valid base64"),
    (
        "invalid UTF-8",
        load_event(body=base64.b64encode(b'{"prompt": "\xff\xfe"}').decode(), isBase64Encoded=True),
        400,
        "not valid UTF-8",
    ),
    ("empty body", load_event(body=None), 400, "empty"),
    ("unknown format", load_event(queryStringParameters={"format": "xml"}), 400, "format must be one of"),
    (
        "unsupported content type",
        load_event(headers={"content-type": "application/x-www-form-urlencoded"}),
        415,
        "unsupported content type",
    ),
]


@pytest.mark.parametrize(
    ("event", "status", "message"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_a_specific_client_error(event: dict[str, Any], status: int, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_event(event, config=CONFIG)
    assert caught.value.status == status
    assert message in caught.value.message


@pytest.mark.parametrize(
    "event",
    [["not", "an", "object"], {"requestContext": None}, load_event(requestContext={"http": None})],
    ids=["event not an object", "requestContext null", "http null"],
)
def test_event_without_a_method_is_405(event: Any) -> None:
    with pytest.raises(RequestError) as caught:
        parse_event(event, config=CONFIG)
    assert (caught.value.status, caught.value.error_type) == (405, "method_not_allowed")


@pytest.mark.parametrize(
    "parts",
    [
        {"headers": ["not", "an", "object"], "queryStringParameters": None},
        {"headers": {"content-type": "application/json"}, "queryStringParameters": ["not", "an", "object"]},
    ],
    ids=["headers", "queryStringParameters"],
)
def test_event_parts_that_are_not_objects_count_as_absent(parts: dict[str, Any]) -> None:
    request = parse_event(load_event(body={"prompt": "hi"}, **parts), config=CONFIG)
    assert request.messages == (Message("user", "hi"),)
    assert request.output_format is OutputFormat.TEXT


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_methods_other_than_post_are_405(method: str) -> None:
    event = load_event()
    event["requestContext"]["http"]["method"] = method
    with pytest.raises(RequestError) as caught:
        parse_event(event, config=CONFIG)
    assert (caught.value.status, caught.value.error_type) == (405, "method_not_allowed")


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": 1, "system": SECRET},
        {"messages": [{"role": "user", "content": SECRET}, {"role": "user", "content": SECRET}]},
        {"prompt": SECRET, "maxTokens": "x"},
        {"prompt": SECRET, "modelId": SECRET},
    ],
)
def test_error_messages_never_echo_the_prompt(body: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as caught:
        parse_event(load_event(body=body), config=CONFIG)
    assert SECRET not in caught.value.message
