"""The OpenAI API's tools (`openai_tools`): function tools -> Converse tool specifications, `tool_choice` ->
the request's choice, tool call arguments -> `toolUse.input`, and every refusal (names and ids against
Bedrock's patterns, duplicates, more than 128 tools, malformed choices and arguments), each a 400
naming its field.
"""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_handler import openai_tools
from bedrock_handler.errors import RequestError

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
EMPTY = {"type": "object", "properties": {}}


def function(name: str = "weather", **fields: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **fields}}


def refused(call: Any, *args: Any, param: str) -> RequestError:
    with pytest.raises(RequestError) as caught:
        call(*args)
    error = caught.value
    assert (error.status, error.error_type, error.param) == (400, "invalid_request", param)
    return error


# --- names and ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("weather", True),
        ("get_weather-v2", True),
        ("A", True),
        ("0", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("get weather", False),
        ("get.weather", False),
        ("get:weather", False),
        ("wéather", False),
        ("weather\n", False),
        ("ａ", False),  # a full-width letter
        (None, False),
        (7, False),
        (["weather"], False),
    ],
)
def test_valid_name(name: object, valid: bool) -> None:
    assert openai_tools.valid_name(name) is valid


@pytest.mark.parametrize("value", ["call_1", "tooluse_AbC-9", "a.b:c", "x" * 64, "0"])
def test_call_id_accepts_bedrocks_pattern(value: str) -> None:
    assert openai_tools.call_id(value, "messages[1].tool_calls[0].id") == value


@pytest.mark.parametrize("value", ["", "x" * 65, "call 1", "call/1", "call#1", "ćall", None, 1, ["c"]])
def test_call_id_refusals(value: object) -> None:
    error = refused(openai_tools.call_id, value, "messages[1].tool_calls[0].id", param="messages")
    assert (
        error.message == "messages[1].tool_calls[0].id must be 1 to 64 of the characters a-z A-Z 0-9 _ . : -"
    )


# --- tools -> tool specifications -----------------------------------------------------------------


def test_tool_specs_golden() -> None:
    tools = [
        function("weather", description="Weather of a city", parameters=SCHEMA, strict=True),
        function("clock"),
        function("noop", parameters={}, description="   "),
        function("echo", parameters=None, description=None, strict=None),
    ]
    assert openai_tools.tool_specs(tools) == (
        {"name": "weather", "inputSchema": {"json": SCHEMA}, "description": "Weather of a city"},
        {"name": "clock", "inputSchema": {"json": EMPTY}},
        {"name": "noop", "inputSchema": {"json": EMPTY}},
        {"name": "echo", "inputSchema": {"json": EMPTY}},
    )


def test_no_tools() -> None:
    assert openai_tools.tool_specs(None) == ()
    assert openai_tools.tool_specs([]) == ()


def test_128_tools_are_accepted_129_refused() -> None:
    tools = [function(f"tool_{index}") for index in range(129)]
    assert [spec["name"] for spec in openai_tools.tool_specs(tools[:128])] == [
        f"tool_{i}" for i in range(128)
    ]
    error = refused(openai_tools.tool_specs, tools, param="tools")
    assert error.message == "tools must be a list of at most 128 tools"


@pytest.mark.parametrize("value", [{}, "weather", 1, True, {"type": "function"}])
def test_tools_must_be_a_list(value: object) -> None:
    error = refused(openai_tools.tool_specs, value, param="tools")
    assert error.message == "tools must be a list of at most 128 tools"


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        (
            {"type": "custom", "custom": {"name": "x"}},
            "tools[1] must be a function tool ({'type': 'function', ...})",
        ),
        ({"function": {"name": "x"}}, "tools[1] must be a function tool ({'type': 'function', ...})"),
        ("weather", "tools[1] must be a function tool ({'type': 'function', ...})"),
        (None, "tools[1] must be a function tool ({'type': 'function', ...})"),
        ({**function("x"), "cache_control": {}}, "tools[1].cache_control is not supported"),
        ({"type": "function", "function": "x"}, "tools[1].function must be an object"),
        ({"type": "function"}, "tools[1].function must be an object"),
        (function("x", examples=[]), "tools[1].function.examples is not supported"),
        (function("x", input_schema={}), "tools[1].function.input_schema is not supported"),
        (function("x", parameters=[]), "tools[1].function.parameters must be a JSON Schema of type object"),
        (function("x", parameters="{}"), "tools[1].function.parameters must be a JSON Schema of type object"),
        (function("x", description=5), "tools[1].function.description must be a string"),
        (function("x", description=["a"]), "tools[1].function.description must be a string"),
    ],
)
def test_tool_refusals(tool: object, message: str) -> None:
    error = refused(openai_tools.tool_specs, [function("ok"), tool], param="tools")
    assert error.message == message


@pytest.mark.parametrize("name", ["", "get weather", "a" * 65, "naïve", "tool.x", None, 12, {"n": 1}])
def test_tool_name_pattern(name: object) -> None:
    error = refused(
        openai_tools.tool_specs, [{"type": "function", "function": {"name": name}}], param="tools"
    )
    assert error.message == "tools[0].function.name must be 1 to 64 of the characters a-z A-Z 0-9 _ -"


def test_a_missing_name_is_refused() -> None:
    error = refused(openai_tools.tool_specs, [{"type": "function", "function": {}}], param="tools")
    assert error.message == "tools[0].function.name must be 1 to 64 of the characters a-z A-Z 0-9 _ -"


def test_duplicate_names_are_refused() -> None:
    error = refused(
        openai_tools.tool_specs,
        [function("a"), function("b"), function("a", parameters=SCHEMA)],
        param="tools",
    )
    assert error.message == "tools must not name a function twice"


def test_an_unsupported_key_is_named_at_most_64_characters() -> None:
    error = refused(openai_tools.tool_specs, [{**function("x"), "k" * 100: 1}], param="tools")
    assert error.message == f"tools[0].{'k' * 64} is not supported"


def test_a_refusal_never_quotes_the_description() -> None:
    with pytest.raises(RequestError) as caught:
        openai_tools.tool_specs([function("bad name", description="okapi-secret")])
    assert "okapi" not in caught.value.message


# Bedrock cannot take a lone surrogate (the request is not valid Unicode), non-standard JSON constants,
# or an input schema whose top-level type is not `object` (botocore's ToolInputSchema documentation).
# Sent on, each is Bedrock's ValidationException: a 502 for what is the caller's mistake.


PLAIN = "must be plain JSON (no NaN or Infinity, no lone surrogate)"


def test_a_description_with_a_lone_surrogate_is_refused() -> None:
    error = refused(openai_tools.tool_specs, [function("x", description="weather \ud800")], param="tools")
    assert error.message == f"tools[0].function.description {PLAIN}"


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "object", "description": "\udfff"},
        {"type": "object", "properties": {"\ud800": {"type": "string"}}},
        {"type": "object", "properties": {"a": {"enum": ["ok", "\udc00"]}}},
    ],
)
def test_parameters_with_a_lone_surrogate_are_refused(parameters: dict[str, Any]) -> None:
    error = refused(openai_tools.tool_specs, [function("x", parameters=parameters)], param="tools")
    assert error.message == f"tools[0].function.parameters {PLAIN}"


@pytest.mark.parametrize("constant", [float("nan"), float("inf"), float("-inf")])
def test_parameters_with_a_non_json_number_are_refused(constant: float) -> None:
    parameters = {"type": "object", "properties": {"a": {"type": "number", "maximum": constant}}}
    error = refused(openai_tools.tool_specs, [function("x", parameters=parameters)], param="tools")
    assert error.message == f"tools[0].function.parameters {PLAIN}"


@pytest.mark.parametrize("kind", ["string", "array", "integer"])
def test_parameters_whose_top_level_type_is_not_object_are_refused(kind: object) -> None:
    error = refused(openai_tools.tool_specs, [function("x", parameters={"type": kind})], param="tools")
    assert error.message == "tools[0].function.parameters must be a JSON Schema of type object"


def test_parameters_without_a_top_level_type_are_sent_as_they_are() -> None:
    parameters = {"properties": {"q": {"type": "string"}}}
    assert openai_tools.tool_specs([function("x", parameters=parameters)]) == (
        {"name": "x", "inputSchema": {"json": parameters}},
    )


# --- tool_choice ----------------------------------------------------------------------------------

SPECS = openai_tools.tool_specs([function("weather"), function("clock")])


@pytest.mark.parametrize(
    ("value", "tools", "expected"),
    [
        (None, SPECS, ("auto", None)),
        (None, (), ("none", None)),
        ("auto", SPECS, ("auto", None)),
        ("auto", (), ("auto", None)),
        ("none", SPECS, ("none", None)),
        ("none", (), ("none", None)),
        ("required", SPECS, ("any", None)),
        ({"type": "function", "function": {"name": "clock"}}, SPECS, ("tool", "clock")),
        ({"type": "function", "function": {"name": "weather", "x": 1}}, SPECS, ("tool", "weather")),
    ],
)
def test_tool_choice(
    value: object, tools: tuple[dict[str, Any], ...], expected: tuple[str, str | None]
) -> None:
    assert openai_tools.tool_choice(value, tools) == expected


def test_required_needs_tools() -> None:
    error = refused(openai_tools.tool_choice, "required", (), param="tool_choice")
    assert error.message == "tool_choice required needs tools"


@pytest.mark.parametrize(
    "value",
    [
        {"type": "function", "function": {"name": "search"}},
        {"type": "function", "function": {"name": None}},
        {"type": "function", "function": "clock"},
        {"type": "function"},
    ],
)
def test_a_named_function_must_be_listed(value: object) -> None:
    error = refused(openai_tools.tool_choice, value, SPECS, param="tool_choice")
    assert error.message == "tool_choice names a function that tools does not list"


def test_a_named_function_without_tools() -> None:
    error = refused(
        openai_tools.tool_choice, {"type": "function", "function": {"name": "clock"}}, (), param="tool_choice"
    )
    assert error.message == "tool_choice names a function that tools does not list"


@pytest.mark.parametrize(
    "value",
    [
        "any",
        "Auto",
        "",
        "clock",
        1,
        True,
        ["auto"],
        {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}},
        {"type": "custom", "custom": {"name": "clock"}},
        {"function": {"name": "clock"}},
        {},
    ],
)
def test_other_tool_choice_forms_are_refused(value: object) -> None:
    error = refused(openai_tools.tool_choice, value, SPECS, param="tool_choice")
    assert error.message == (
        "tool_choice must be none, auto, required or {'type': 'function', 'function': {'name': ...}}"
    )


# --- arguments -> toolUse.input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("   ", {}),
        ("\n", {}),
        ("{}", {}),
        ('{"city": "Oslo"}', {"city": "Oslo"}),
        (' {"a": [1, 2.5, true, null], "b": {"c": "é"}} ', {"a": [1, 2.5, True, None], "b": {"c": "é"}}),
        ('{"emoji": "\\ud83d\\ude00"}', {"emoji": "😀"}),  # a valid surrogate pair
    ],
)
def test_arguments_become_the_input_object(text: str, expected: dict[str, Any]) -> None:
    assert openai_tools.arguments_input(text, "messages[1].tool_calls[0].function.arguments") == expected


@pytest.mark.parametrize("text", ["{", '{"a": 1', "{'a': 1}", "nope", '{"a": 1}}', "{} {}", "[" * 100_000])
def test_invalid_json_arguments_are_refused(text: str) -> None:
    error = refused(
        openai_tools.arguments_input, text, "messages[1].tool_calls[0].function.arguments", param="messages"
    )
    assert error.message == "messages[1].tool_calls[0].function.arguments is not valid JSON"


@pytest.mark.parametrize("text", ["[]", "[1]", "1", "null", '"text"', "true", "1.5"])
def test_non_object_arguments_are_refused(text: str) -> None:
    error = refused(
        openai_tools.arguments_input, text, "messages[1].tool_calls[0].function.arguments", param="messages"
    )
    assert error.message == "messages[1].tool_calls[0].function.arguments must be a JSON object"


@pytest.mark.parametrize("value", [None, {"city": "Oslo"}, 1, ["{}"]])
def test_arguments_must_be_a_string(value: object) -> None:
    error = refused(
        openai_tools.arguments_input, value, "messages[1].tool_calls[0].function.arguments", param="messages"
    )
    assert error.message == "messages[1].tool_calls[0].function.arguments must be a string of JSON"


# Python's json module reads NaN, Infinity and escaped lone surrogates, none of which is JSON that
# Bedrock takes back: botocore writes `NaN` into the body, and a lone surrogate is not valid Unicode.


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": [-Infinity]}'])
def test_arguments_with_non_json_constants_are_refused(text: str) -> None:
    error = refused(
        openai_tools.arguments_input, text, "messages[1].tool_calls[0].function.arguments", param="messages"
    )
    assert error.message == "messages[1].tool_calls[0].function.arguments is not valid JSON"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\\ud800"}',
        '{"\\udfff": 1}',
        '{"a": ["x\\udc00y"]}',
        '{"a": 1e999}',  # valid JSON syntax, but a float overflow: botocore would write Infinity
    ],
)
def test_arguments_that_are_not_plain_json_are_refused(text: str) -> None:
    error = refused(
        openai_tools.arguments_input, text, "messages[1].tool_calls[0].function.arguments", param="messages"
    )
    assert error.message == f"messages[1].tool_calls[0].function.arguments {PLAIN}"
