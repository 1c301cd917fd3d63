"""The native API's new surface: image and document blocks in `messages` (base64 sources, user turns only,
neutral document names), the `reasoning` field, and the output's reasoning events (SSE and NDJSON; raw
text leaves them out), the `done` usage with prompt-cache tokens only when non-zero.

Expected requests and event strings are written out by hand.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from bedrock_handler import native_request
from bedrock_handler.chat import ChatRequest, Message
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import RequestError
from bedrock_handler.http_event import from_function_url
from bedrock_handler.native_output import NativeEncoder, OutputFormat, summary_json
from bedrock_handler.reply import Summary
from handler_support import base_env, load_event

HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
CONFIG = HandlerConfig.from_env(base_env(MODEL_IDS=f"{HAIKU_45},{NOVA_LITE}", MAX_TOKENS_LIMIT="3000"))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a\x01\x00\x01\x00"
PDF = b"%PDF-1.4\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image(image_format: str, data: bytes) -> dict[str, Any]:
    return {"image": {"format": image_format, "source": {"bytes": b64(data)}}}


def document(document_format: str, data: bytes) -> dict[str, Any]:
    return {"document": {"format": document_format, "source": {"bytes": b64(data)}}}


def parse(body: dict[str, Any]) -> ChatRequest:
    event = load_event(body=body, queryStringParameters=None, headers={"content-type": "application/json"})
    return native_request.parse(from_function_url(event), config=CONFIG).request


def refusal(body: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse(body)
    assert (caught.value.status, caught.value.error_type) == (400, "invalid_request")
    return caught.value


# --- request blocks ---------------------------------------------------------------------------------


def test_image_and_document_blocks() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"text": "what is this?"}, image("png", PNG), document("pdf", PDF)]},
            {"role": "assistant", "content": "a chart"},
            {
                "role": "user",
                "content": [image("gif", GIF), {"text": "and"}, {"text": "this?"}, document("txt", b"t")],
            },
        ]
    }
    assert parse(body).messages == (
        Message(
            "user",
            "what is this?",
            (
                {"image": {"format": "png", "source": {"bytes": PNG}}},
                {"document": {"name": "document-1", "format": "pdf", "source": {"bytes": PDF}}},
            ),
        ),
        Message("assistant", "a chart"),
        Message(
            "user",
            "and\nthis?",
            (
                {"image": {"format": "gif", "source": {"bytes": GIF}}},
                {"document": {"name": "document-2", "format": "txt", "source": {"bytes": b"t"}}},
            ),
        ),
    )


def test_an_image_alone_is_a_user_turn() -> None:
    assert parse({"messages": [{"role": "user", "content": [image("png", PNG)]}]}).messages == (
        Message("user", "", ({"image": {"format": "png", "source": {"bytes": PNG}}},)),
    )


@pytest.mark.parametrize("block", [image("png", PNG), document("pdf", PDF)])
def test_assistant_turns_hold_text_only(block: dict[str, Any]) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"text": "see"}, block]},
            {"role": "user", "content": "ok"},
        ]
    }
    assert refusal(body).message == "messages[1].content[1] must be {'text': str} (assistant turns hold text)"


SHAPE = " must be {'format': str, 'source': {'bytes': base64}}"
SOURCE = ".image.source must be {'bytes': base64}"
KINDS = " must be {'text': str}, {'image': ...} or {'document': ...}"


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (image("jpeg", PNG), ": the bytes are not a jpeg image"),
        (image("jpg", PNG), ": images must be one of png, jpeg, gif, webp"),
        (document("docx", PDF), ": the bytes are not a docx document"),
        (document("rtf", b"x"), ": documents must be one of pdf, csv, doc, docx, xls, xlsx, html, txt, md"),
        ({"image": {"format": "png", "source": {"bytes": "aGk"}}}, ".image.source.bytes is not valid base64"),
        (
            {"image": {"format": "png", "source": {"bytes": ""}}},
            ".image.source.bytes must be a non-empty base64 string",
        ),
        ({"image": {"format": "png", "source": {"url": "https://x/y.png"}}}, SOURCE),
        ({"image": {"format": "png", "source": {"bytes": b64(PNG), "s3Location": {}}}}, SOURCE),
        ({"image": {"format": "png"}}, ".image" + SHAPE),
        ({"image": {"format": "png", "source": "aGk="}}, ".image" + SHAPE),
        ({"document": {"name": "evil", "format": "txt", "source": {"bytes": "aGk="}}}, ".document" + SHAPE),
        ({"image": {"format": 1, "source": {"bytes": b64(PNG)}}}, ".image.format must be a string"),
        ({"image": image("png", PNG)["image"], "text": "x"}, KINDS),
        ({"video": {}}, KINDS),
    ],
)
def test_block_refusals(block: dict[str, Any], problem: str) -> None:
    error = refusal({"messages": [{"role": "user", "content": [{"text": "look"}, block]}]})
    assert error.message == "messages[0].content[1]" + problem


def test_a_document_needs_text_in_its_turn() -> None:
    error = refusal({"messages": [{"role": "user", "content": [document("txt", b"t")]}]})
    assert error.message == "messages[0] attaches a document, so it must also hold text"


def test_per_turn_counts() -> None:
    assert (
        len(parse({"messages": [{"role": "user", "content": [image("png", PNG)] * 20}]}).messages[0].leading)
        == 20
    )
    error = refusal({"messages": [{"role": "user", "content": [image("png", PNG)] * 21}]})
    assert error.message == "messages[0] holds more than 20 images"
    error = refusal(
        {"messages": [{"role": "user", "content": [{"text": "t"}, *[document("txt", b"t")] * 6]}]}
    )
    assert error.message == "messages[0] holds more than 5 documents"


def test_image_size_limit() -> None:
    at_limit = PNG + b"\x00" * (3_750_000 - len(PNG))
    assert parse({"messages": [{"role": "user", "content": [image("png", at_limit)]}]}).messages[
        0
    ].leading == ({"image": {"format": "png", "source": {"bytes": at_limit}}},)
    error = refusal({"messages": [{"role": "user", "content": [image("png", at_limit + b"\x00")]}]})
    assert error.message == "messages[0].content[0]: an image may hold at most 3750000 bytes"


# --- reasoning ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "xhigh", "max"])
def test_reasoning_efforts(effort: str) -> None:
    request = parse({"prompt": "think", "modelId": HAIKU_45, "reasoning": effort, "maxTokens": 2000})
    assert (request.reasoning, request.max_tokens) == (effort, 2000)


@pytest.mark.parametrize("value", ["none", None])
def test_reasoning_off(value: object) -> None:
    request = parse({"prompt": "think", "modelId": NOVA_LITE, "reasoning": value})
    assert (request.reasoning, request.max_tokens) == (None, 1024)


def test_reasoning_without_max_tokens_gets_the_limit() -> None:
    assert parse({"prompt": "think", "modelId": HAIKU_45, "reasoning": "low"}).max_tokens == 3000


@pytest.mark.parametrize("value", ["None", "HIGH", "", "extreme", 1, True, ["low"], {"effort": "low"}])
def test_bad_reasoning_values(value: object) -> None:
    error = refusal({"prompt": "think", "modelId": HAIKU_45, "reasoning": value})
    assert error.param == "reasoning"
    assert error.message == "reasoning must be one of none, minimal, low, medium, high, xhigh, max"


def test_a_model_that_cannot_reason() -> None:
    error = refusal({"prompt": "think", "modelId": NOVA_LITE, "reasoning": "low"})
    assert error.param == "reasoning"
    assert error.message == f"model {NOVA_LITE} cannot reason; leave reasoning unset"


def test_a_claude_budget_needs_room_below_max_tokens() -> None:
    error = refusal({"prompt": "think", "modelId": HAIKU_45, "reasoning": "minimal", "maxTokens": 1024})
    assert error.param == "reasoning"


# --- output -------------------------------------------------------------------------------------------


def test_sse_reasoning_event() -> None:
    encoder = NativeEncoder(OutputFormat.SSE)
    assert encoder.reasoning('Let me "see"\n') == 'event: reasoning\ndata: {"text":"Let me \\"see\\"\\n"}\n\n'
    assert encoder.reasoning("naïve") == 'event: reasoning\ndata: {"text":"naïve"}\n\n'


def test_ndjson_reasoning_event() -> None:
    encoder = NativeEncoder(OutputFormat.NDJSON)
    assert encoder.reasoning("step 1\n") == '{"type":"reasoning","text":"step 1\\n"}\n'
    assert encoder.reasoning("日本") == '{"type":"reasoning","text":"日本"}\n'


def test_raw_text_leaves_reasoning_out() -> None:
    encoder = NativeEncoder(OutputFormat.TEXT)
    assert encoder.reasoning("secret thought") == ""
    assert encoder.delta("answer") == "answer"


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_signatures_and_tool_events_write_nothing(fmt: OutputFormat) -> None:
    encoder = NativeEncoder(fmt)
    assert encoder.reasoning_end("sig", None) == ""
    assert encoder.reasoning_end(None, b"x") == ""
    assert encoder.tool_call(0, "t1", "f") == ""
    assert encoder.tool_arguments(0, "{}") == ""


def summary(read: int = 0, write: int = 0) -> Summary:
    return Summary(
        stop_reason="end_turn",
        input_tokens=3,
        output_tokens=2,
        first_token_ms=12,
        total_ms=40,
        model_id="m",
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


@pytest.mark.parametrize(
    ("read", "write", "usage"),
    [
        (0, 0, '{"inputTokens":3,"outputTokens":2,"totalTokens":5}'),
        (10, 0, '{"inputTokens":3,"outputTokens":2,"totalTokens":15,"cacheReadInputTokens":10}'),
        (0, 7, '{"inputTokens":3,"outputTokens":2,"totalTokens":12,"cacheWriteInputTokens":7}'),
        (
            10,
            7,
            '{"inputTokens":3,"outputTokens":2,"totalTokens":22,"cacheReadInputTokens":10,"cacheWriteInputTokens":7}',
        ),
    ],
)
def test_done_usage_with_cache_tokens(read: int, write: int, usage: str) -> None:
    document = (
        '{"stopReason":"end_turn","usage":'
        + usage
        + ',"metrics":{"firstTokenMs":12,"totalMs":40},"modelId":"m"}'
    )
    assert NativeEncoder(OutputFormat.SSE).done(summary(read, write)) == f"event: done\ndata: {document}\n\n"
    assert (
        NativeEncoder(OutputFormat.NDJSON).done(summary(read, write))
        == '{"type":"done",' + document[1:] + "\n"
    )
    assert NativeEncoder(OutputFormat.TEXT).done(summary(read, write)) == ""
    assert summary_json(summary(read, write)) == json.loads(document)
