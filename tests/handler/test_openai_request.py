"""The OpenAI edge's request parsing (`openai_request.parse`): every Chat Completions field it maps,
ignores, accepts only at its default, or refuses; and `MODEL_ALIASES` in `HandlerConfig`.

Every refusal is checked for its status, error type, `param` and a fragment of its message.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from bedrock_handler import openai_request
from bedrock_handler.chat import ChatRequest, Message
from bedrock_handler.config import ConfigError, HandlerConfig
from bedrock_handler.errors import RequestError
from bedrock_handler.http_event import from_function_url
from handler_support import base_env, load_event

HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
CONFIG = HandlerConfig.from_env(
    base_env(MAX_TOKENS_LIMIT="2000", MAX_REQUEST_BYTES="16000", MODEL_ALIASES=f"fast={MISTRAL}")
)
SECRET = "okapi-secret-prompt"
USER = {"role": "user", "content": "hi"}
_ABSENT = object()


def openai_event(
    body: Any = _ABSENT,
    *,
    method: str = "POST",
    content_type: str | None = "application/json",
    **changes: Any,
) -> dict[str, Any]:
    """The shared fixture turned into `POST /v1/chat/completions`; a non-str `body` is sent as JSON."""
    headers = {} if content_type is None else {"content-type": content_type}
    event = load_event(rawPath="/v1/chat/completions", queryStringParameters=None, headers=headers, **changes)
    if body is not _ABSENT:
        event["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
    event["requestContext"]["http"]["method"] = method
    return event


def chat(**fields: Any) -> dict[str, Any]:
    """A valid body (haiku, one user message) with `fields` on top."""
    return {"model": HAIKU, "messages": [USER], **fields}


def parse(body: Any, **options: Any) -> openai_request.OpenAICall:
    return openai_request.parse(from_function_url(openai_event(body, **options)), config=CONFIG)


def refusal(body: Any, **options: Any) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse(body, **options)
    return caught.value


# --- what a valid request maps to -----------------------------------------------------------------


def test_minimal_request() -> None:
    call = parse(chat())
    assert call.request == ChatRequest(model_id=HAIKU, messages=(Message("user", "hi"),), max_tokens=1024)
    assert (call.stream, call.include_usage, call.caller) == (False, False, None)


def test_every_mapped_field() -> None:
    body = chat(
        messages=[{"role": "system", "content": "sys"}, USER],
        max_completion_tokens=77,
        temperature=0.25,
        top_p=0.5,
        stop=["END", "STOP"],
        stream=True,
        stream_options={"include_usage": True},
        user="alice",
    )
    call = parse(body)
    assert call.request == ChatRequest(
        model_id=HAIKU,
        messages=(Message("user", "hi"),),
        max_tokens=77,
        system="sys",
        temperature=0.25,
        top_p=0.5,
        stop_sequences=("END", "STOP"),
    )
    assert (call.stream, call.include_usage, call.caller) == (True, True, "alice")


@pytest.mark.parametrize(("name", "model_id"), [(HAIKU, HAIKU), (MISTRAL, MISTRAL), ("fast", MISTRAL)])
def test_model_is_an_allow_listed_id_or_an_alias(name: str, model_id: str) -> None:
    assert parse(chat(model=name)).request.model_id == model_id


def test_system_and_developer_messages_anywhere_become_the_system_prompt_in_order() -> None:
    messages = [
        {"role": "system", "content": "s1"},
        {"role": "user", "content": "u1"},
        {"role": "developer", "content": "d1"},
        {"role": "assistant", "content": "a1"},
        {"role": "system", "content": [{"type": "text", "text": "s2"}, {"type": "text", "text": "s3"}]},
        {"role": "user", "content": "u2"},
    ]
    request = parse(chat(messages=messages)).request
    assert request.system == "s1\n\nd1\n\ns2\ns3"
    assert request.messages == (Message("user", "u1"), Message("assistant", "a1"), Message("user", "u2"))


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (
            ["user", "user", "assistant", "assistant", "user"],
            [("user", "0\n\n1"), ("assistant", "2\n\n3"), ("user", "4")],
        ),
        # The system message between them is lifted out, leaving two user turns in a row: one turn.
        (["user", "system", "user"], [("user", "0\n\n2")]),
        (
            ["user", "assistant", "developer", "assistant", "user", "user"],
            [("user", "0"), ("assistant", "1\n\n3"), ("user", "4\n\n5")],
        ),
    ],
)
def test_consecutive_turns_of_one_role_are_merged(roles: list[str], expected: list[tuple[str, str]]) -> None:
    messages = [{"role": role, "content": str(index)} for index, role in enumerate(roles)]
    assert parse(chat(messages=messages)).request.messages == tuple(Message(*m) for m in expected)


def test_text_parts_of_one_message_are_joined_with_newlines() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}, {"type": "text", "text": "c"}]
    assert parse(chat(messages=[{"role": "user", "content": content}])).request.messages == (
        Message("user", "a\nb\nc"),
    )


def test_allowed_message_keys() -> None:
    messages = [
        {"role": "user", "content": "q", "name": "bob"},
        {
            "role": "assistant",
            "content": "a",
            "refusal": None,
            "tool_calls": None,
            "function_call": None,
            "audio": None,
        },
        {"role": "user", "content": "r", "name": "bob"},
    ]
    assert [m.text for m in parse(chat(messages=messages)).request.messages] == ["q", "a", "r"]


def test_two_hundred_messages_are_accepted() -> None:
    messages = [{"role": ("user", "assistant")[i % 2], "content": "x"} for i in range(199)]
    assert len(parse(chat(messages=messages)).request.messages) == 199
    assert len(parse(chat(messages=[*messages, {"role": "system", "content": "s"}])).request.messages) == 199


@pytest.mark.parametrize(
    ("fields", "max_tokens"),
    [
        ({}, 1024),
        ({"max_tokens": 7}, 7),
        ({"max_completion_tokens": 5}, 5),
        ({"max_completion_tokens": 5, "max_tokens": 7}, 5),
        ({"max_completion_tokens": None, "max_tokens": 7}, 7),
        ({"max_completion_tokens": None, "max_tokens": None}, 1024),
        ({"max_completion_tokens": 2000}, 2000),
        ({"max_tokens": 1}, 1),
    ],
)
def test_max_completion_tokens_wins_over_max_tokens(fields: dict[str, Any], max_tokens: int) -> None:
    assert parse(chat(**fields)).request.max_tokens == max_tokens


@pytest.mark.parametrize(
    ("fields", "temperature", "top_p"),
    [
        ({"temperature": 0}, 0.0, None),
        ({"temperature": 1}, 1.0, None),
        ({"temperature": 0.7, "top_p": 0.9}, 0.7, 0.9),
        ({"top_p": 0}, None, 0.0),
        ({"top_p": 1}, None, 1.0),
        ({"temperature": None, "top_p": None}, None, None),
    ],
)
def test_temperature_and_top_p(
    fields: dict[str, Any], temperature: float | None, top_p: float | None
) -> None:
    request = parse(chat(**fields)).request
    assert (request.temperature, request.top_p) == (temperature, top_p)
    assert all(type(v) is float for v in (request.temperature, request.top_p) if v is not None)


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("END", ("END",)),
        (["a", "b"], ("a", "b")),
        (["x" * 256] * 8, ("x" * 256,) * 8),
        (None, ()),
        ([], ()),
        ("日本", ("日本",)),
    ],
)
def test_stop_as_string_or_list(stop: Any, expected: tuple[str, ...]) -> None:
    assert parse(chat(stop=stop)).request.stop_sequences == expected


@pytest.mark.parametrize(
    ("fields", "stream", "include_usage"),
    [
        ({}, False, False),
        ({"stream": True}, True, False),
        ({"stream": False}, False, False),
        ({"stream": None}, False, False),
        ({"stream": True, "stream_options": None}, True, False),
        ({"stream": True, "stream_options": {}}, True, False),
        ({"stream": True, "stream_options": {"include_usage": True}}, True, True),
        ({"stream": True, "stream_options": {"include_usage": False}}, True, False),
        ({"stream": True, "stream_options": {"include_usage": None}}, True, False),
        ({"stream": True, "stream_options": {"include_obfuscation": True}}, True, False),
        (
            {"stream": True, "stream_options": {"include_usage": True, "include_obfuscation": False}},
            True,
            True,
        ),
    ],
)
def test_stream_and_stream_options(fields: dict[str, Any], stream: bool, include_usage: bool) -> None:
    call = parse(chat(**fields))
    assert (call.stream, call.include_usage) == (stream, include_usage)


@pytest.mark.parametrize(
    ("user", "caller"),
    [(None, None), ("alice", "alice"), ("", ""), ("u" * 128, "u" * 128), ("ü" * 129 + "tail", "ü" * 128)],
)
def test_user_becomes_the_caller_cut_to_128_characters(user: str | None, caller: str | None) -> None:
    assert parse(chat(user=user)).caller == caller


IGNORED = [
    "metadata",
    "parallel_tool_calls",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
]
ANY_VALUES = [True, False, 0, 5, -1.5, "x", "", {"a": [1, {"b": None}]}, [], [1, "2"], None]


def sdk_fields() -> list[str]:
    """Every request field of the pinned SDK's Chat Completions parameters."""
    from openai.types.chat.completion_create_params import CompletionCreateParamsBase

    return sorted({*CompletionCreateParamsBase.__annotations__, "stream"})


@pytest.mark.parametrize("name", sdk_fields())
def test_every_field_the_sdk_knows_is_recognised(name: str) -> None:
    """A new SDK field must be classified (mapped, ignored, default-only or refused by name), never
    fall through to `unrecognized request argument`: null is the SDK's "not given" for all of them."""
    body = chat(**{name: None}) if name not in ("model", "messages") else chat()
    assert parse(body).request.model_id == HAIKU


@pytest.mark.parametrize("value", ANY_VALUES, ids=repr)
@pytest.mark.parametrize("name", IGNORED)
def test_ignored_fields_are_accepted_with_any_value(name: str, value: Any) -> None:
    assert parse(chat(**{name: value})).request == parse(chat()).request


AT_DEFAULT = [
    ("n", 1),
    ("n", 1.0),
    ("logprobs", False),
    ("top_logprobs", 0),
    ("presence_penalty", 0),
    ("presence_penalty", 0.0),
    ("presence_penalty", -0.0),
    ("frequency_penalty", 0),
    ("frequency_penalty", 0.0),
    ("logit_bias", {}),
    ("modalities", ["text"]),
    ("response_format", {"type": "text"}),
    ("tools", []),
    ("functions", []),
    ("tool_choice", "none"),
    ("function_call", "none"),
]
AT_DEFAULT_NAMES = sorted({name for name, _ in AT_DEFAULT})


@pytest.mark.parametrize(("name", "value"), AT_DEFAULT + [(name, None) for name in AT_DEFAULT_NAMES], ids=str)
def test_fields_at_their_default_or_null_are_accepted(name: str, value: Any) -> None:
    assert parse(chat(**{name: value})).request == parse(chat()).request


NOT_DEFAULT = [
    ("n", 2),
    ("n", 0),
    ("n", True),
    ("n", "1"),
    ("n", [1]),
    ("logprobs", True),
    ("logprobs", 0),
    ("logprobs", "false"),
    ("top_logprobs", 1),
    ("top_logprobs", False),
    ("top_logprobs", 0.5),
    ("presence_penalty", 0.5),
    ("presence_penalty", False),
    ("presence_penalty", "0"),
    ("frequency_penalty", -1),
    ("frequency_penalty", 1e-9),
    ("logit_bias", {"50256": -100}),
    ("logit_bias", []),
    ("modalities", ["text", "audio"]),
    ("modalities", "text"),
    ("modalities", []),
    ("response_format", {"type": "json_object"}),
    ("response_format", {"type": "text", "extra": 1}),
    ("response_format", "text"),
    ("functions", [{"name": "f"}]),
    ("function_call", "auto"),
    ("function_call", {"name": "f"}),
]


@pytest.mark.parametrize(("name", "value"), NOT_DEFAULT, ids=str)
def test_fields_away_from_their_default_are_refused_by_name(name: str, value: Any) -> None:
    error = refusal(chat(**{name: value}))
    assert (error.status, error.error_type, error.param) == (400, "invalid_request", name)
    assert error.message.startswith(f"{name} is not supported: Bedrock has no equivalent (only ")


UNSUPPORTED = [
    "audio",
    "moderation",
    "prediction",
    "seed",
    "verbosity",
    "web_search_options",
]


@pytest.mark.parametrize("value", [0, 1, "low", {"type": "content"}, [], False], ids=repr)
@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_fields_are_refused_unless_null(name: str, value: Any) -> None:
    error = refusal(chat(**{name: value}))
    assert (error.status, error.error_type, error.param) == (400, "invalid_request", name)
    assert error.message == f"{name} is not supported: Bedrock has no equivalent"
    assert parse(chat(**{name: None})).request == parse(chat()).request


# --- refusals -------------------------------------------------------------------------------------


def _case(label: str, body: Any, *expected: Any, **options: Any) -> Any:
    """`expected` is (status, error type, param, message fragment); `options` shape the event."""
    return pytest.param(body, options, expected, id=label)


def messages(*items: Any) -> dict[str, Any]:
    return chat(messages=list(items))


def user(content: Any, **keys: Any) -> dict[str, Any]:
    return {"role": "user", "content": content, **keys}


BAD = "invalid_request"
REFUSED = [
    # the HTTP envelope
    _case("GET", chat(), 405, "method_not_allowed", None, "method GET not allowed; use POST", method="GET"),
    _case("PUT", chat(), 405, "method_not_allowed", None, "method PUT not allowed", method="PUT"),
    _case("no method", chat(), 405, "method_not_allowed", None, "method (none) not allowed", method=""),
    _case(
        "text/plain",
        chat(),
        415,
        "unsupported_media_type",
        None,
        "unsupported content type 'text/plain'",
        content_type="text/plain",
    ),
    _case(
        "form",
        chat(),
        415,
        "unsupported_media_type",
        None,
        "send application/json",
        content_type="application/x-www-form-urlencoded",
    ),
    _case(
        "json in text",
        chat(),
        415,
        "unsupported_media_type",
        None,
        "unsupported content type",
        content_type="text/json",
    ),
    _case(
        "too large",
        chat(user="u" * 16000),
        413,
        "payload_too_large",
        None,
        "request body exceeds 16000 bytes",
    ),
    _case(
        "too large base64",
        base64.b64encode(b" " * 16001).decode(),
        413,
        "payload_too_large",
        None,
        "exceeds 16000 bytes",
        isBase64Encoded=True,
    ),
    _case("no body", None, 400, BAD, None, "request body is empty"),
    _case("empty body", "", 400, BAD, None, "request body is empty"),
    _case("blank body", " \n\t ", 400, BAD, None, "request body is empty"),
    _case("invalid JSON", '{"model": ', 400, BAD, None, "body is not valid JSON"),
    _case("JSON with trailing garbage", json.dumps(chat()) + "x", 400, BAD, None, "body is not valid JSON"),
    _case("deeply nested JSON", "[" * 3000 + "]" * 3000, 400, BAD, None, "nested too deeply"),
    _case("invalid base64", "!!!", 400, BAD, None, "body is not valid base64", isBase64Encoded=True),
    _case(
        "invalid UTF-8",
        base64.b64encode(b'{"model": "\xff"}').decode(),
        400,
        BAD,
        None,
        "not valid UTF-8",
        isBase64Encoded=True,
    ),
    _case("JSON array", [chat()], 400, BAD, None, "JSON body must be an object"),
    _case("JSON string", '"hi"', 400, BAD, None, "JSON body must be an object"),
    _case("JSON null", "null", 400, BAD, None, "JSON body must be an object"),
    # model
    _case("model missing", {"messages": [USER]}, 400, BAD, "model", "model must be a non-empty string"),
    _case("model null", chat(model=None), 400, BAD, "model", "model must be a non-empty string"),
    _case("model empty", chat(model=""), 400, BAD, "model", "model must be a non-empty string"),
    _case("model number", chat(model=5), 400, BAD, "model", "model must be a non-empty string"),
    _case("model list", chat(model=[HAIKU]), 400, BAD, "model", "model must be a non-empty string"),
    _case("model unknown", chat(model="gpt-4o"), 404, "model_not_found", "model", "GET /v1/models lists"),
    _case(
        "model other case", chat(model=HAIKU.upper()), 404, "model_not_found", "model", "not available here"
    ),
    _case(
        "model alias target spelled as alias",
        chat(model="FAST"),
        404,
        "model_not_found",
        "model",
        "not available",
    ),
    # messages
    _case("messages missing", {"model": HAIKU}, 400, BAD, "messages", "messages must be a non-empty list"),
    _case("messages empty", chat(messages=[]), 400, BAD, "messages", "messages must be a non-empty list"),
    _case("messages string", chat(messages="hi"), 400, BAD, "messages", "messages must be a non-empty list"),
    _case(
        "messages object",
        chat(messages={"role": "user"}),
        400,
        BAD,
        "messages",
        "messages must be a non-empty list",
    ),
    _case("201 messages", chat(messages=[USER] * 201), 400, BAD, "messages", "at most 200 entries"),
    _case("message string", messages("hi"), 400, BAD, "messages", "messages[0] must be an object"),
    _case("message null", messages(USER, None), 400, BAD, "messages", "messages[1] must be an object"),
    _case(
        "tool message answering nothing",
        messages(USER, {"role": "tool", "content": "r", "tool_call_id": "c"}),
        400,
        BAD,
        "messages",
        "tool message answers 'c', which the assistant message before it did not call",
    ),
    _case(
        "role function",
        messages({"role": "function", "content": "r", "name": "f"}),
        400,
        BAD,
        "messages",
        "messages[0].role must be one of",
    ),
    _case(
        "role capitalised",
        messages({"role": "User", "content": "x"}),
        400,
        BAD,
        "messages",
        "role must be one of",
    ),
    _case(
        "role missing", messages({"content": "x"}), 400, BAD, "messages", "messages[0].role must be one of"
    ),
    _case("role number", messages({"role": 1, "content": "x"}), 400, BAD, "messages", "role must be one of"),
    _case(
        "unknown message key",
        messages(user("x", tool_id="c")),
        400,
        BAD,
        "messages",
        "messages[0] has an unrecognized field 'tool_id'",
    ),
    _case(
        "tool_calls empty",
        messages(user("x"), {"role": "assistant", "content": "a", "tool_calls": []}, USER),
        400,
        BAD,
        "messages",
        "messages[1].tool_calls must be a non-empty list",
    ),
    _case(
        "tool_calls on a user message",
        messages(user("x", tool_calls=[])),
        400,
        BAD,
        "messages",
        "messages[0].tool_calls is not supported",
    ),
    _case(
        "function_call set",
        messages({"role": "assistant", "content": "a", "function_call": {"name": "f"}}),
        400,
        BAD,
        "messages",
        "messages[0].function_call is not supported",
    ),
    _case(
        "audio set",
        messages(user("x", audio={"id": "a"})),
        400,
        BAD,
        "messages",
        "messages[0].audio is not supported",
    ),
    _case(
        "content missing",
        messages({"role": "user"}),
        400,
        BAD,
        "messages",
        "messages[0].content must be a non-empty string or list of parts",
    ),
    _case(
        "content null",
        messages(user(None)),
        400,
        BAD,
        "messages",
        "content must be a non-empty string or list",
    ),
    _case(
        "content number",
        messages(user(5)),
        400,
        BAD,
        "messages",
        "content must be a non-empty string or list",
    ),
    _case(
        "content object",
        messages(user({"type": "text", "text": "x"})),
        400,
        BAD,
        "messages",
        "content must be a non-empty string or list",
    ),
    _case(
        "content empty list",
        messages(user([])),
        400,
        BAD,
        "messages",
        "content must be a non-empty string or list",
    ),
    _case(
        "content empty",
        messages(user("")),
        400,
        BAD,
        "messages[0].content",
        "messages[0].content must not be empty",
    ),
    _case("content blank", messages(user(" \n")), 400, BAD, "messages[0].content", "must not be empty"),
    _case(
        "content lone surrogate",
        messages(user("a \ud800")),
        400,
        BAD,
        "messages[0].content",
        "is not valid Unicode",
    ),
    _case(
        "part string",
        messages(user(["hi"])),
        400,
        BAD,
        "messages",
        "messages[0].content[0] must be an object",
    ),
    _case(
        "part image",
        messages(
            user([{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "data:,"}}])
        ),
        400,
        BAD,
        "messages",
        "messages[0].content[1].image_url.url must be a data:<media type>;base64,<data> URL",
    ),
    _case(
        "part input_audio",
        messages(user([{"type": "input_audio", "input_audio": {}}])),
        400,
        BAD,
        "messages",
        "type 'input_audio' is not supported",
    ),
    _case(
        "part refusal",
        messages(user([{"type": "refusal", "refusal": "no"}])),
        400,
        BAD,
        "messages",
        "type 'refusal' is not supported here; send text, image_url, file parts",
    ),
    _case(
        "part type missing",
        messages(user([{"text": "x"}])),
        400,
        BAD,
        "messages",
        "type 'NoneType' is not supported",
    ),
    _case(
        "part type number",
        messages(user([{"type": 3, "text": "x"}])),
        400,
        BAD,
        "messages",
        "type 'int' is not supported",
    ),
    _case(
        "part long type cut",
        messages(user([{"type": "t" * 100}])),
        400,
        BAD,
        "messages",
        f"type {'t' * 32!r} is not supported",
    ),
    _case(
        "part extra key",
        messages(user([{"type": "text", "text": "x", "cache_control": {}}])),
        400,
        BAD,
        "messages",
        "messages[0].content[0].cache_control is not supported",
    ),
    _case(
        "part text missing",
        messages(user([{"type": "text"}])),
        400,
        BAD,
        "messages[0].content[0].text",
        "messages[0].content[0].text must be a string",
    ),
    _case(
        "part text number",
        messages(user([{"type": "text", "text": 1}])),
        400,
        BAD,
        "messages[0].content[0].text",
        "must be a string",
    ),
    _case(
        "part text empty",
        messages(user([{"type": "text", "text": ""}])),
        400,
        BAD,
        "messages[0].content[0].text",
        "must not be empty",
    ),
    _case(
        "part text lone surrogate",
        messages(user([{"type": "text", "text": "\udfff"}])),
        400,
        BAD,
        "messages[0].content[0].text",
        "not valid Unicode",
    ),
    _case(
        "system empty",
        messages({"role": "system", "content": ""}, USER),
        400,
        BAD,
        "messages[0].content",
        "must not be empty",
    ),
    _case(
        "only system",
        messages({"role": "system", "content": "s"}),
        400,
        BAD,
        "messages",
        "the first message after system and developer ones must be a user message",
    ),
    _case(
        "starts with assistant",
        messages({"role": "assistant", "content": "a"}, USER),
        400,
        BAD,
        "messages",
        "the first message after system and developer ones must be a user message",
    ),
    _case(
        "system then assistant",
        messages({"role": "developer", "content": "d"}, {"role": "assistant", "content": "a"}, USER),
        400,
        BAD,
        "messages",
        "first message after system",
    ),
    _case(
        "ends with assistant",
        messages(USER, {"role": "assistant", "content": "a"}),
        400,
        BAD,
        "messages",
        "the last message must be a user or tool message",
    ),
    _case(
        "ends with assistant then system",
        messages(USER, {"role": "assistant", "content": "a"}, {"role": "system", "content": "s"}),
        400,
        BAD,
        "messages",
        "the last message must be a user or tool message",
    ),
    # token limits: the error names the field that was used
    _case(
        "max_completion_tokens zero",
        chat(max_completion_tokens=0),
        400,
        BAD,
        "max_completion_tokens",
        "max_completion_tokens must be between 1 and 2000",
    ),
    _case(
        "max_completion_tokens over",
        chat(max_completion_tokens=2001),
        400,
        BAD,
        "max_completion_tokens",
        "max_completion_tokens must be between 1 and 2000",
    ),
    _case(
        "max_completion_tokens wins when bad",
        chat(max_completion_tokens=-1, max_tokens=5),
        400,
        BAD,
        "max_completion_tokens",
        "max_completion_tokens must be between",
    ),
    _case(
        "max_completion_tokens string",
        chat(max_completion_tokens="5", max_tokens=5),
        400,
        BAD,
        "max_completion_tokens",
        "max_completion_tokens must be an integer",
    ),
    _case(
        "max_completion_tokens float",
        chat(max_completion_tokens=5.0),
        400,
        BAD,
        "max_completion_tokens",
        "must be an integer",
    ),
    _case(
        "max_completion_tokens bool",
        chat(max_completion_tokens=True),
        400,
        BAD,
        "max_completion_tokens",
        "must be an integer",
    ),
    _case(
        "max_tokens zero", chat(max_tokens=0), 400, BAD, "max_tokens", "max_tokens must be between 1 and 2000"
    ),
    _case(
        "max_tokens over after null",
        chat(max_completion_tokens=None, max_tokens=10**9),
        400,
        BAD,
        "max_tokens",
        "max_tokens must be between 1 and 2000",
    ),
    _case("max_tokens list", chat(max_tokens=[5]), 400, BAD, "max_tokens", "max_tokens must be an integer"),
    # sampling
    _case(
        "temperature 1.5",
        chat(temperature=1.5),
        400,
        BAD,
        "temperature",
        "temperature must be between 0 and 1 (Bedrock's range; OpenAI's values above 1 have no equivalent)",
    ),
    _case(
        "temperature 2", chat(temperature=2), 400, BAD, "temperature", "temperature must be between 0 and 1"
    ),
    _case(
        "temperature negative",
        chat(temperature=-0.1),
        400,
        BAD,
        "temperature",
        "temperature must be between 0 and 1",
    ),
    _case(
        "temperature string", chat(temperature="0.5"), 400, BAD, "temperature", "temperature must be a number"
    ),
    _case(
        "temperature bool", chat(temperature=True), 400, BAD, "temperature", "temperature must be a number"
    ),
    _case(
        "temperature NaN",
        '{"model": "' + HAIKU + '", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        400,
        BAD,
        "temperature",
        "temperature must be a number",
    ),
    _case("top_p over", chat(top_p=1.01), 400, BAD, "top_p", "top_p must be between 0 and 1"),
    _case("top_p negative", chat(top_p=-1), 400, BAD, "top_p", "top_p must be between 0 and 1"),
    _case("top_p object", chat(top_p={}), 400, BAD, "top_p", "top_p must be a number"),
    # stop
    _case("stop number", chat(stop=5), 400, BAD, "stop", "stop must be a list of at most 8 strings"),
    _case("stop object", chat(stop={"a": 1}), 400, BAD, "stop", "stop must be a list of at most 8 strings"),
    _case("stop nine", chat(stop=["s"] * 9), 400, BAD, "stop", "at most 8 strings"),
    _case(
        "stop empty string",
        chat(stop=""),
        400,
        BAD,
        "stop",
        "each stop sequence must be a string of 1 to 256 characters",
    ),
    _case(
        "stop long string",
        chat(stop="s" * 257),
        400,
        BAD,
        "stop",
        "each stop sequence must be a string of 1 to 256",
    ),
    _case("stop empty in list", chat(stop=["a", ""]), 400, BAD, "stop", "each stop sequence"),
    _case("stop number in list", chat(stop=["a", 1]), 400, BAD, "stop", "each stop sequence"),
    _case("stop lone surrogate", chat(stop=["\ud800"]), 400, BAD, "stop", "stop is not valid Unicode"),
    # reply options
    _case("stream string", chat(stream="true"), 400, BAD, "stream", "stream must be a boolean"),
    _case("stream number", chat(stream=1), 400, BAD, "stream", "stream must be a boolean"),
    _case(
        "stream_options string",
        chat(stream=True, stream_options="usage"),
        400,
        BAD,
        "stream_options",
        "stream_options must be an object",
    ),
    _case(
        "stream_options unknown key",
        chat(stream=True, stream_options={"include_usage": True, "chunked": True}),
        400,
        BAD,
        "stream_options",
        "unrecognized stream_options field: chunked",
    ),
    _case(
        "message name not a string",
        chat(messages=[{"role": "user", "content": "q", "name": 7}]),
        400,
        BAD,
        "messages",
        "messages[0].name must be a string",
    ),
    _case(
        "stream_options list",
        chat(stream=True, stream_options=[]),
        400,
        BAD,
        "stream_options",
        "stream_options must be an object",
    ),
    _case(
        "include_usage string",
        chat(stream=True, stream_options={"include_usage": "yes"}),
        400,
        BAD,
        "stream_options.include_usage",
        "stream_options.include_usage must be a boolean",
    ),
    _case(
        "include_usage number",
        chat(stream=True, stream_options={"include_usage": 1}),
        400,
        BAD,
        "stream_options.include_usage",
        "must be a boolean",
    ),
    _case("user number", chat(user=5), 400, BAD, "user", "user must be a string"),
    _case("user object", chat(user={"id": "x"}), 400, BAD, "user", "user must be a string"),
    # unknown top-level fields, named (cut to 64 characters)
    _case("unknown field", chat(foo=1), 400, BAD, "foo", "unrecognized request argument: foo"),
    _case(
        "unknown camelCase",
        chat(maxTokens=5),
        400,
        BAD,
        "maxTokens",
        "unrecognized request argument: maxTokens",
    ),
    _case(
        "unknown extra_body",
        chat(extra_body={"a": 1}),
        400,
        BAD,
        "extra_body",
        "unrecognized request argument: extra_body",
    ),
    _case(
        "unknown long name",
        chat(**{"k" * 100: 1}),
        400,
        BAD,
        "k" * 64,
        "unrecognized request argument: " + "k" * 64,
    ),
    _case(
        "unknown reported first in name order",
        chat(zzz=1, aaa=2),
        400,
        BAD,
        "aaa",
        "unrecognized request argument: aaa",
    ),
]


@pytest.mark.parametrize(("body", "options", "expected"), REFUSED)
def test_refusals(body: Any, options: dict[str, Any], expected: tuple[int, str, str | None, str]) -> None:
    status, error_type, param, fragment = expected
    error = refusal(body, **options)
    assert (error.status, error.error_type, error.param) == (status, error_type, param)
    assert fragment in error.message, error.message


def test_405_carries_the_allow_header() -> None:
    assert refusal(chat(), method="GET").headers == (("allow", "POST"),)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ],
)
def test_json_media_types_are_accepted(content_type: str | None) -> None:
    assert parse(chat(), content_type=content_type).request.model_id == HAIKU


def test_base64_body_is_decoded() -> None:
    raw = json.dumps(chat(messages=[user("héllo")])).encode()
    call = parse(base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert call.request.messages == (Message("user", "héllo"),)


def test_a_null_value_counts_as_absent_for_any_known_field() -> None:
    """`null` is the SDK's "not given": a known field is skipped when null; an unknown one is refused."""
    assert parse(chat(seed=None, n=None, metadata=None)).request == parse(chat()).request
    with pytest.raises(RequestError) as caught:
        parse(chat(foo=None))
    assert (caught.value.status, caught.value.param) == (400, "foo")


@pytest.mark.parametrize(
    "body",
    [
        chat(messages=[{"role": "tool", "content": SECRET}]),
        chat(messages=[{"role": "assistant", "content": SECRET}]),
        chat(messages=[user(SECRET), {"role": "assistant", "content": SECRET}]),
        chat(messages=[{"role": "system", "content": SECRET}]),
        chat(messages=[user(SECRET, tool_calls=[{"id": SECRET}])]),
        chat(messages=[user([{"type": "text", "text": SECRET, "cache": SECRET}])]),
        chat(messages=[user([{"type": "image_url", "image_url": {"url": SECRET}}])]),
        chat(messages=[user(SECRET + " \ud800")]),
        chat(messages=[user(SECRET)] * 201),
        chat(model=SECRET),
        chat(temperature=SECRET),
        chat(top_p=SECRET),
        chat(max_tokens=SECRET),
        chat(stop=[SECRET * 20]),
        chat(stop=SECRET * 20),
        chat(user=[SECRET]),
        chat(stream=SECRET),
        chat(stream_options={"include_usage": SECRET}),
        chat(seed=SECRET),
        chat(n=SECRET),
        chat(response_format={"type": SECRET}),
        chat(unknown=SECRET),
    ],
)
def test_error_messages_never_echo_the_prompt(body: dict[str, Any]) -> None:
    error = refusal(body)
    assert SECRET not in error.message
    assert SECRET not in (error.param or "")


# --- MODEL_ALIASES --------------------------------------------------------------------------------


def test_model_aliases_from_env() -> None:
    config = HandlerConfig.from_env(base_env(MODEL_ALIASES=f" fast = {MISTRAL} ,haiku={HAIKU},, "))
    assert config.model_aliases == (("fast", MISTRAL), ("haiku", HAIKU))
    assert config.resolve_model("fast") == MISTRAL
    assert config.resolve_model("haiku") == HAIKU
    assert config.resolve_model(HAIKU) == HAIKU
    assert config.resolve_model(MISTRAL) == MISTRAL
    for unknown in ("", "Fast", "fast ", "gpt-4o", "amazon.nova-lite-v1:0"):
        assert config.resolve_model(unknown) is None


def test_no_aliases_by_default() -> None:
    config = HandlerConfig.from_env(base_env())
    assert config.model_aliases == ()
    assert config.resolve_model("fast") is None
    assert config.resolve_model(config.default_model_id) == config.default_model_id


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fast", "MODEL_ALIASES entries must be alias=model-id, not 'fast'"),
        (f"={MISTRAL}", f"MODEL_ALIASES entries must be alias=model-id, not '={MISTRAL}'"),
        ("fast=", "MODEL_ALIASES entries must be alias=model-id, not 'fast='"),
        ("fast=gpt-4o", "MODEL_ALIASES: fast points to gpt-4o, which is not in MODEL_IDS"),
        (f"{HAIKU}={MISTRAL}", f"MODEL_ALIASES: {HAIKU} is already a model id or an alias"),
        (f"fast={MISTRAL},fast={HAIKU}", "MODEL_ALIASES: fast is already a model id or an alias"),
    ],
)
def test_a_bad_alias_is_a_config_error(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        HandlerConfig.from_env(base_env(MODEL_ALIASES=value))
    assert str(caught.value) == f"invalid configuration: {problem}"


def test_every_alias_problem_is_listed_in_one_error() -> None:
    value = f"nope,fast=gpt-4o,{MISTRAL}={HAIKU},ok={HAIKU},ok={MISTRAL}"
    with pytest.raises(ConfigError) as caught:
        HandlerConfig.from_env(base_env(MODEL_ALIASES=value, MAX_TOKENS_LIMIT="x"))
    assert str(caught.value) == (
        "invalid configuration: MAX_TOKENS_LIMIT must be an integer, not 'x'; "
        "MODEL_ALIASES entries must be alias=model-id, not 'nope'; "
        "MODEL_ALIASES: fast points to gpt-4o, which is not in MODEL_IDS; "
        f"MODEL_ALIASES: {MISTRAL} is already a model id or an alias; "
        "MODEL_ALIASES: ok is already a model id or an alias"
    )
