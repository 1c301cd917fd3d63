"""A direct invocation's event (`bedrock_handler.direct_event`) and the dispatch that sends an event there:
the reserved keys `api` and `format`, the body handed to the API's parser as compact JSON, every refusal
(with its golden message), and which events are HTTP events, completion notices or direct invocations."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from bedrock_handler import direct_event
from bedrock_handler.errors import RequestError
from bedrock_handler.invocation import respond
from handler_support import FakeContext, load_event
from hypothesis import given, settings
from hypothesis import strategies as st
from streaming_runtime import FunctionError, RawStreamingResponse, StreamingResponse

from emulator.stub_replies import reply_tokens

Build = Callable[..., Any]


# --- the request a direct event becomes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "path", "query", "body"),
    [
        ({"prompt": "hi"}, "/", {}, '{"prompt":"hi"}'),
        ({"prompt": "hi", "format": "ndjson"}, "/", {"format": "ndjson"}, '{"prompt":"hi"}'),
        ({"format": "text", "prompt": "hi", "api": "native"}, "/", {"format": "text"}, '{"prompt":"hi"}'),
        ({"api": None, "format": None, "prompt": "hi"}, "/", {}, '{"prompt":"hi"}'),  # null: not given
        (
            {"api": "openai", "model": "m", "messages": [], "stream": True},
            "/v1/chat/completions",
            {},
            '{"model":"m","messages":[],"stream":true}',
        ),
        ({}, "/", {}, "{}"),  # an empty body: refused later by the native parser, as over HTTP
    ],
)
def test_a_direct_event_is_a_post_of_its_body(
    event: dict[str, Any], path: str, query: dict[str, str], body: str
) -> None:
    original = json.loads(json.dumps(event))
    http = direct_event.request_of(event)
    assert (http.method, http.path, dict(http.query), http.raw_body) == ("POST", path, query, body)
    assert (http.headers["content-type"], http.base64_body, http.door, http.principal) == (
        "application/json",
        False,
        "direct",
        None,
    )
    assert event == original  # the reserved keys are taken from a copy, not the event


def test_the_body_is_utf8_json_and_a_lone_surrogate_keeps_its_escape() -> None:
    assert direct_event.request_of({"prompt": "héllo ✓"}).raw_body == '{"prompt":"héllo ✓"}'
    # "\ud800" cannot be UTF-8: the body keeps the escape an HTTP body holding it would carry
    lone = direct_event.request_of({"prompt": "é \ud800"}).raw_body
    assert lone == '{"prompt":"\\u00e9 \\ud800"}'
    assert json.loads(str(lone)) == {"prompt": "é \ud800"}


def test_a_body_nested_past_the_encoders_limit_is_refused() -> None:
    nested: Any = "x"
    for _ in range(5_000):
        nested = [nested]
    with pytest.raises(RequestError, match="body JSON is nested too deeply"):
        direct_event.request_of({"prompt": nested})


REFUSED_EVENTS = [
    ("text", "a direct invocation's event must be a JSON object (the request body), not a string"),
    (["prompt"], "a direct invocation's event must be a JSON object (the request body), not an array"),
    (3, "a direct invocation's event must be a JSON object (the request body), not a number"),
    (2.5, "a direct invocation's event must be a JSON object (the request body), not a number"),
    (True, "a direct invocation's event must be a JSON object (the request body), not a boolean"),
    (None, "a direct invocation's event must be a JSON object (the request body), not null"),
    ({"api": "OpenAI", "prompt": "x"}, "api must be one of native, openai"),
    ({"api": "chat", "prompt": "x"}, "api must be one of native, openai"),
    ({"api": 1, "prompt": "x"}, "api must be one of native, openai"),
    ({"api": {"x": 1}, "prompt": "x"}, "api must be one of native, openai"),
    ({"api": ["openai"], "prompt": "x"}, "api must be one of native, openai"),
    ({"format": "sse", "prompt": "x"}, "format must be one of text, ndjson"),
    ({"format": "NDJSON", "prompt": "x"}, "format must be one of text, ndjson"),
    ({"format": 0, "prompt": "x"}, "format must be one of text, ndjson"),
    (
        {"api": "openai", "format": "text", "model": "m", "messages": []},
        "format is for the native API; an OpenAI request streams with stream: true",
    ),
]


@pytest.mark.parametrize(("event", "message"), REFUSED_EVENTS)
def test_refused_events(event: Any, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        direct_event.request_of(event)
    assert (raised.value.message, raised.value.status, raised.value.error_type) == (
        message,
        400,
        "invalid_request",
    )


@pytest.mark.parametrize(
    ("event", "api"),
    [
        ({"api": "openai"}, "openai"),
        ({"api": "native"}, "native"),
        ({}, "native"),
        ({"api": "OPENAI"}, "native"),  # refused, and counted under the default API
        ({"api": ["openai"]}, "native"),
        ("openai", "native"),
        (None, "native"),
    ],
)
def test_the_api_an_event_is_counted_under(event: Any, api: str) -> None:
    assert direct_event.api_of(event) == api


# --- which door: the dispatch in `respond` ---------------------------------------------------------


def test_each_shape_goes_through_its_door(make_model: Build) -> None:
    config, model = make_model()

    def answer(event: Any) -> Any:
        return respond(event, FakeContext(), config=config, model=model)

    completion = answer({"invokeCompletionStatus": "Success"})
    assert isinstance(completion, StreamingResponse) and completion.status_code == 200
    assert list(completion.body) == []
    function_url = answer(
        load_event(
            body={"prompt": "door @stub:tokens=1"},
            queryStringParameters=None,
            headers={"content-type": "application/json"},
        )
    )
    assert isinstance(function_url, StreamingResponse) and function_url.status_code == 200
    assert list(function_url.body) == reply_tokens("door", 1)
    rest = answer({"httpMethod": "POST", "path": "/", "body": '{"prompt": "door @stub:tokens=1"}'})
    assert isinstance(rest, StreamingResponse) and rest.status_code == 200
    assert list(rest.body) == reply_tokens("door", 1)
    direct = answer({"prompt": "door @stub:tokens=1"})
    assert isinstance(direct, RawStreamingResponse)
    assert list(direct.body) == reply_tokens("door", 1)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        # no longer read as a Function URL event with parts missing: no `requestContext.http` object
        ({"requestContext": {"http": "POST"}, "body": "{}"}, "unknown field 'body'"),
        ({"rawPath": "/", "prompt": "x"}, "unknown field 'rawPath'"),
        ({"invokeCompletion": "Success"}, "unknown field 'invokeCompletion'"),  # not the notice's key
        ({"errorCode": "Unhandled", "prompt": "x"}, "unknown field 'errorCode'"),  # neither
    ],
)
def test_an_event_of_no_http_shape_is_a_direct_one_judged_as_a_body(
    make_model: Build, event: dict[str, Any], message: str
) -> None:
    config, model = make_model()
    with pytest.raises(FunctionError) as raised:
        respond(event, FakeContext(), config=config, model=model)
    assert raised.value.error_type == "invalid_request"
    assert raised.value.message.startswith(message + "; allowed: maxTokens, messages, modelId, prompt")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["api", "format", "prompt", "model", "x", ""]), inner, max_size=4
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_is_read_or_refused_with_a_request_error(event: Any) -> None:
    try:
        http = direct_event.request_of(event)
    except RequestError as exc:
        assert exc.status == 400 and exc.error_type == "invalid_request" and exc.message
        return
    assert isinstance(event, dict) and http.door == "direct"
    body = json.loads(str(http.raw_body))
    assert body == {k: v for k, v in event.items() if k not in ("api", "format")}
