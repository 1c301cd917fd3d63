"""The stand-in refuses malformed ConverseStream requests as Bedrock does (400 naming the rule), via boto3.

The client skips botocore's own parameter checks so that each rule reaches the stand-in; the few
bodies boto3 cannot send (bad base64, unmodelled keys, wrong JSON types) go over raw HTTP.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from emulator.bedrock_stub import BedrockStub
from tests.support.bedrock_client import bedrock_client

Json = dict[str, Any]

HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
SONNET_37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS_46 = "anthropic.claude-opus-4-6-v1"
OPUS_47 = "global.anthropic.claude-opus-4-7"
NOVA_LITE = "us.amazon.nova-lite-v1:0"
NOVA_2 = "amazon.nova-2-lite-v1:0"
GPT_OSS = "openai.gpt-oss-20b-1:0"
DEEPSEEK = "us.deepseek.r1-v1:0"

PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)
JPEG = b"\xff\xd8\xff\xe0" + bytes(8)
GIF = b"GIF89a" + bytes(8)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "
DOCUMENT_FORMATS = ["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]
MAGIC = {"png": PNG, "jpeg": JPEG, "gif": GIF, "webp": WEBP}
SCHEMA = {"json": {"type": "object", "properties": {}}}
TOOLS = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": SCHEMA}}]}
CACHE = {"cachePoint": {"type": "default"}}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


@pytest.fixture(scope="module")
def client(stub: BedrockStub) -> Any:
    return bedrock_client(stub.url, parameter_validation=False)


def text(value: str = "hi") -> Json:
    return {"text": value}


def image(fmt: str = "png", data: bytes = PNG) -> Json:
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def document(name: str = "document-1", fmt: str = "txt", data: bytes = b"notes") -> Json:
    return {"document": {"name": name, "format": fmt, "source": {"bytes": data}}}


def user(*blocks: Json) -> Json:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Json) -> Json:
    return {"role": "assistant", "content": list(blocks)}


def tool_use(tool_id: str = "t1", name: str = "lookup", **extra: Any) -> Json:
    return {"toolUse": {"toolUseId": tool_id, "name": name, "input": {}, **extra}}


def tool_result(tool_id: str = "t1", content: list[Json] | None = None, **extra: Any) -> Json:
    return {"toolResult": {"toolUseId": tool_id, "content": content or [text("done")], **extra}}


def ask(*blocks: Json, model: str = HAIKU_35, **fields: Any) -> Json:
    """ConverseStream keyword arguments: one user turn (text unless blocks are given) plus `fields`."""
    return {"modelId": model, "messages": [user(*(blocks or (text(),)))], **fields}


def loop(
    *, result: Json | None = None, model: str = HAIKU_35, first: Json | None = None, **fields: Any
) -> Json:
    """A tool loop: question, assistant tool call, user tool result."""
    messages = [
        user(text()),
        assistant(*([first] if first else []), tool_use()),
        user(result or tool_result()),
    ]
    return {"modelId": model, "messages": messages, "toolConfig": TOOLS, **fields}


def tools(*specs: Json, **extra: Any) -> Json:
    return {"toolConfig": {"tools": list(specs), **extra}}


def spec(name: str = "lookup", **extra: Any) -> Json:
    return {"toolSpec": {"name": name, "inputSchema": SCHEMA, **extra}}


def guard(**fields: Any) -> Json:
    return {"guardrailConfig": {"guardrailIdentifier": "abc123", "guardrailVersion": "1", **fields}}


def extra(**fields: Any) -> Json:
    return {"additionalModelRequestFields": fields}


def refusal(client: Any, arguments: Json) -> str:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        list(client.converse_stream(**arguments)["stream"])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(caught.value.response["Error"]["Message"])


REFUSED = [
    # messages and roles
    ("no messages", {"modelId": HAIKU_35, "messages": []}, "messages must be a non-empty list"),
    ("starts with assistant", {"modelId": HAIKU_35, "messages": [assistant(text())]}, "roles alternate"),
    ("two user turns", {"modelId": HAIKU_35, "messages": [user(text()), user(text())]}, "roles alternate"),
    ("empty content", ask(model=HAIKU_35) | {"messages": [user()]}, "content must be a non-empty list"),
    ("two keys in a block", ask({"text": "a", "cachePoint": {"type": "default"}}), "exactly one of"),
    ("video block", ask({"video": {"format": "mp4", "source": {"bytes": b"x"}}}), "video is not a supported"),
    ("guardContent block", ask({"guardContent": {"text": {"text": "x"}}}), "guardContent is not a supported"),
    # images
    ("image format", ask(text(), image("bmp")), "format must be one of png, jpeg, gif, webp"),
    *[
        (
            f"{fmt} magic",
            ask(text(), image(fmt, MAGIC["gif" if fmt != "gif" else "png"])),
            f"not a {fmt} image",
        )
        for fmt in MAGIC
    ],
    ("gif87 as png", ask(image("png", b"GIF87a" + bytes(4))), "not a png image"),
    ("image too big", ask(image("png", PNG + bytes(3_750_000 - len(PNG) + 1))), "1 to 3750000 bytes"),
    ("21 images", ask(text(), *[image()] * 21), "at most 20"),
    (
        "image from assistant",
        {"modelId": HAIKU_35, "messages": [user(text()), assistant(image())]},
        "only in user",
    ),
    (
        "image from s3",
        ask({"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}}),
        "bytes",
    ),
    # documents
    (
        "document name missing",
        ask(text(), {"document": {"format": "txt", "source": {"bytes": b"x"}}}),
        "name must",
    ),
    ("document name slash", ask(text(), document("a/b")), "name must be 1-200 characters"),
    ("document name two spaces", ask(text(), document("a  b")), "name must be 1-200 characters"),
    ("document name too long", ask(text(), document("a" * 201)), "name must be 1-200 characters"),
    ("document names twice", ask(text(), document("same"), document("same")), "must be unique in a message"),
    ("document format", ask(text(), document(fmt="exe")), "format must be one of csv, doc"),
    ("document too big", ask(text(), document(data=bytes(4_500_001))), "1 to 4500000 bytes"),
    ("six documents", ask(text(), *[document(f"d{i}") for i in range(6)]), "at most 5"),
    ("document without text", ask(document()), "must also hold a text block"),
    (
        "document from assistant",
        {"modelId": HAIKU_35, "messages": [user(text()), assistant(document())]},
        "only in user",
    ),
    # tool use and results
    ("toolUse from user", ask(tool_use(), toolConfig=TOOLS), "toolUse blocks are allowed only in assistant"),
    (
        "toolUseId pattern",
        loop() | {"messages": [user(text()), assistant(tool_use("a b"))]},
        "toolUseId must match",
    ),
    (
        "toolUseId length",
        loop() | {"messages": [user(text()), assistant(tool_use("x" * 65))]},
        "toolUseId must",
    ),
    (
        "tool name pattern",
        loop() | {"messages": [user(text()), assistant(tool_use(name="a b"))]},
        "name must match",
    ),
    (
        "toolUse input missing",
        loop() | {"messages": [user(text()), assistant({"toolUse": {"toolUseId": "t1", "name": "lookup"}})]},
        "input is required",
    ),
    (
        "toolUseId twice",
        loop() | {"messages": [user(text()), assistant(tool_use(), tool_use()), user(tool_result())]},
        "used twice in the message",
    ),
    ("toolUse unanswered", loop(result=text("never mind")), "must answer toolUse 't1'"),
    ("toolResult unmatched", loop(result=tool_result("t2")), "toolResult 't2' matches no toolUse"),
    (
        "toolResult content empty",
        loop()
        | {
            "messages": [
                user(text()),
                assistant(tool_use()),
                user({"toolResult": {"toolUseId": "t1", "content": []}}),
            ]
        },
        "content must be a non-empty list",
    ),
    ("toolResult status", loop(result=tool_result(status="failed")), "status must be success or error"),
    (
        "toolResult video",
        loop(result=tool_result(content=[{"video": {"format": "mp4"}}])),
        "video is not a supported",
    ),
    ("toolResult bad image", loop(result=tool_result(content=[image("png", GIF)])), "not a png image"),
    (
        "toolResult from assistant",
        {"modelId": HAIKU_35, "messages": [user(text()), assistant(tool_result())], "toolConfig": TOOLS},
        "only in user",
    ),
    (
        "tool blocks without toolConfig",
        {k: v for k, v in loop().items() if k != "toolConfig"},
        "toolConfig is required",
    ),
    ("no tools", ask(toolConfig={"tools": []}), "toolConfig.tools must be a non-empty list"),
    ("only a cachePoint tool", ask(**tools(CACHE)), "at least one toolSpec"),
    ("toolSpec name", ask(**tools(spec("get weather"))), "toolSpec.name must match"),
    (
        "toolSpec description empty",
        ask(**tools(spec(description=""))),
        "description must be a non-empty string",
    ),
    (
        "toolSpec schema not an object",
        ask(**tools({"toolSpec": {"name": "a", "inputSchema": {"json": "x"}}})),
        "inputSchema must be",
    ),
    ("tool names twice", ask(**tools(spec(), spec())), "tool names must be unique"),
    (
        "toolChoice unknown tool",
        ask(**tools(spec(), toolChoice={"tool": {"name": "other"}})),
        "must name one of",
    ),
    (
        "toolChoice two kinds",
        ask(**tools(spec(), toolChoice={"auto": {}, "any": {}})),
        "exactly one of auto, any, tool",
    ),
    ("systemTool", ask(**tools(spec(), {"systemTool": {"name": "x"}})), "systemTool is not a supported"),
    # reasoning blocks
    ("reasoning from user", ask({"reasoningContent": {"reasoningText": {"text": "x"}}}), "only in assistant"),
    (
        "reasoningText without text",
        {
            "modelId": HAIKU_35,
            "messages": [
                user(text()),
                assistant({"reasoningContent": {"reasoningText": {"signature": "s"}}}, text()),
            ],
        },
        "needs a string text",
    ),
    # inferenceConfig
    ("maxTokens 0", ask(inferenceConfig={"maxTokens": 0}), "maxTokens must be an integer of at least 1"),
    (
        "temperature above 1",
        ask(inferenceConfig={"temperature": 1.5}),
        "temperature must be a number from 0 to 1",
    ),
    ("topP below 0", ask(inferenceConfig={"topP": -0.1}), "topP must be a number from 0 to 1"),
    ("empty stop sequence", ask(inferenceConfig={"stopSequences": [""]}), "stopSequences"),
    # guardrailConfig
    ("guardrail id empty", ask(**guard(guardrailIdentifier="")), "guardrailIdentifier must be"),
    ("guardrail id upper case", ask(**guard(guardrailIdentifier="ABC")), "guardrailIdentifier must be"),
    (
        "guardrail ARN short account",
        ask(**guard(guardrailIdentifier="arn:aws:bedrock:us-east-1:123:guardrail/abc")),
        "guardrailIdentifier",
    ),
    ("guardrail version 0", ask(**guard(guardrailVersion="0")), "guardrailVersion must be DRAFT"),
    ("guardrail version draft", ask(**guard(guardrailVersion="draft")), "guardrailVersion must be DRAFT"),
    ("guardrail version missing", ask(guardrailConfig={"guardrailIdentifier": "abc"}), "guardrailVersion"),
    ("guardrail trace", ask(**guard(trace="on")), "trace must be enabled, disabled or enabled_full"),
    (
        "guardrail mode",
        ask(**guard(streamProcessingMode="fast")),
        "streamProcessingMode must be sync or async",
    ),
    # cache points
    (
        "five cache points",
        ask(text(), CACHE, text(), CACHE, system=[text("s"), CACHE, CACHE], **tools(spec(), CACHE)),
        "at most 4",
    ),
    ("cachePoint type", ask(text(), {"cachePoint": {"type": "ephemeral"}}), "{'type': 'default'}"),
    ("cachePoint ttl", ask(text(), {"cachePoint": {"type": "default", "ttl": "10m"}}), "ttl of 5m or 1h"),
    ("empty system text", ask(system=[text("")]), "system[0].text must be a non-empty string"),
    # reasoning requests
    (
        "budget below 1024",
        ask(model=SONNET_37, **extra(thinking={"type": "enabled", "budget_tokens": 1000})),
        "at least 1024",
    ),
    (
        "budget missing",
        ask(model=SONNET_37, **extra(thinking={"type": "enabled"})),
        "budget_tokens must be an integer",
    ),
    (
        "budget not below maxTokens",
        ask(model=SONNET_37, inferenceConfig={"maxTokens": 1024}, **extra(**THINKING)),
        "less than inferenceConfig.maxTokens",
    ),
    ("enabled on Opus 4.7", ask(model=OPUS_47, **extra(**THINKING)), "use 'adaptive'"),
    (
        "adaptive on Sonnet 4.5",
        ask(model=SONNET_45, **extra(thinking={"type": "adaptive"})),
        "supported only by Claude Opus 4.6, Sonnet 4.6 and Opus 4.7",
    ),
    (
        "adaptive with a budget",
        ask(model=OPUS_46, **extra(thinking={"type": "adaptive", "budget_tokens": 2048})),
        "only for thinking.type 'enabled'",
    ),
    (
        "thinking type",
        ask(model=OPUS_46, **extra(thinking={"type": "on"})),
        "thinking.type must be enabled, adaptive or disabled",
    ),
    (
        "thinking with temperature",
        ask(model=SONNET_37, inferenceConfig={"temperature": 0.5}, **extra(**THINKING)),
        "temperature cannot be set while thinking",
    ),
    (
        "thinking with topP",
        ask(model=OPUS_47, inferenceConfig={"topP": 0.9}, **extra(thinking={"type": "adaptive"})),
        "topP cannot be set while thinking",
    ),
    (
        "thinking with toolChoice any",
        ask(model=SONNET_45, **tools(spec(), toolChoice={"any": {}}), **extra(**THINKING)),
        "forced tool use",
    ),
    (
        "thinking with toolChoice tool",
        ask(model=SONNET_45, **tools(spec(), toolChoice={"tool": {"name": "lookup"}}), **extra(**THINKING)),
        "forced tool use",
    ),
    (
        "effort unknown",
        ask(model=OPUS_46, outputConfig={"effort": "extreme"}),
        "effort must be one of low, medium, high, xhigh, max",
    ),
    ("effort max without thinking", ask(model=OPUS_46, outputConfig={"effort": "max"}), "needs thinking on"),
    (
        "effort xhigh with thinking off",
        ask(model=OPUS_47, outputConfig={"effort": "xhigh"}, **extra(thinking={"type": "disabled"})),
        "needs thinking on",
    ),
    (
        "effort to Nova 2",
        ask(model=NOVA_2, outputConfig={"effort": "low"}),
        "outputConfig.effort is not supported",
    ),
    (
        "effort to Claude 3.5 Haiku",
        ask(model=HAIKU_35, outputConfig={"effort": "low"}),
        "outputConfig.effort is not supported",
    ),
    (
        "Nova 2 effort",
        ask(model=NOVA_2, **extra(reasoningConfig={"type": "enabled", "maxReasoningEffort": "max"})),
        "maxReasoningEffort must be low, medium or high",
    ),
    (
        "Nova 2 type",
        ask(model=NOVA_2, **extra(reasoningConfig={"type": "on"})),
        "reasoningConfig.type must be enabled or disabled",
    ),
    (
        "Nova 2 high with temperature",
        ask(
            model=NOVA_2,
            inferenceConfig={"temperature": 0.2},
            **extra(reasoningConfig={"type": "enabled", "maxReasoningEffort": "high"}),
        ),
        "temperature cannot be set with reasoningConfig",
    ),
    (
        "Nova 2 high with topP",
        ask(
            model=NOVA_2,
            inferenceConfig={"topP": 0.2},
            **extra(reasoningConfig={"type": "enabled", "maxReasoningEffort": "high"}),
        ),
        "topP cannot be set with reasoningConfig",
    ),
    (
        "gpt-oss effort",
        ask(model=GPT_OSS, **extra(reasoning_effort="max")),
        "reasoning_effort must be low, medium or high",
    ),
    (
        "thinking to Nova Lite",
        ask(model=NOVA_LITE, **extra(**THINKING)),
        "thinking is not supported by 'us.amazon.nova-lite-v1:0': it cannot reason",
    ),
    ("thinking to Claude 3.5 Haiku", ask(**extra(**THINKING)), "it cannot reason"),
    ("thinking to gpt-oss", ask(model=GPT_OSS, **extra(**THINKING)), "it takes reasoning_effort instead"),
    (
        "reasoning_effort to DeepSeek",
        ask(model=DEEPSEEK, **extra(reasoning_effort="low")),
        "it reasons without any field",
    ),
    (
        "reasoningConfig to Claude",
        ask(model=SONNET_37, **extra(reasoningConfig={"type": "enabled"})),
        "it takes thinking instead",
    ),
    (
        "reasoning_config to Nova 2",
        ask(model=NOVA_2, **extra(reasoning_config="low")),
        "takes reasoningConfig instead",
    ),
    ("thinking to an unknown model", ask(model="m", **extra(**THINKING)), "cannot reason"),
    (
        "thinking block missing",
        loop(model=SONNET_45, inferenceConfig={"maxTokens": 2048}, **extra(**THINKING)),
        "thinking block",
    ),
    (
        "thinking block unsigned",
        loop(
            model=SONNET_45,
            first={"reasoningContent": {"reasoningText": {"text": "hmm"}}},
            inferenceConfig={"maxTokens": 2048},
            **extra(**THINKING),
        ),
        "thinking block",
    ),
    (
        "thinking block forged",
        loop(
            model=OPUS_47,
            first={"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "stubsig-0"}}},
            **extra(thinking={"type": "adaptive"}),
        ),
        "thinking block",
    ),
    (
        "thinking block foreign redacted",
        loop(
            model=SONNET_45,
            first={"reasoningContent": {"redactedContent": b"opaque"}},
            inferenceConfig={"maxTokens": 2048},
            **extra(**THINKING),
        ),
        "thinking block",
    ),
    # directives
    ("tool directive without tools", ask(text("x @stub:tool=lookup")), "names no tool"),
    ("tool directive unknown tool", ask(text("x @stub:tool=other"), toolConfig=TOOLS), "names no tool"),
    (
        "tool directive bad name",
        ask(text("x @stub:tool=a/b"), toolConfig=TOOLS),
        "malformed directive '@stub:tool=a/b'",
    ),
    (
        "tool directive without name",
        ask(text("x @stub:tool"), toolConfig=TOOLS),
        "malformed directive '@stub:tool'",
    ),
    (
        "reasoning directive value",
        ask(text("x @stub:reasoning=x")),
        "'@stub:reasoning=x' needs a non-negative integer",
    ),
    ("redacted directive value", ask(text("x @stub:reasoning-redacted=1")), "malformed directive"),
    ("guardrail directive limit", ask(text("x @stub:guardrail-after=100001")), "above its limit"),
    ("cache directive value", ask(text("x @stub:cache-read=-1")), "needs a non-negative integer"),
]


@pytest.mark.parametrize(("arguments", "message"), [pytest.param(a, m, id=i) for i, a, m in REFUSED])
def test_malformed_requests_are_refused_naming_the_rule(client: Any, arguments: Json, message: str) -> None:
    assert message in refusal(client, arguments)


def raw_refusal(stub: BedrockStub, model: str, body: Json) -> str:
    host, port = stub.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("POST", f"/model/{model}/converse-stream", body=json.dumps(body).encode())
        response = connection.getresponse()
        assert response.status == 400
        assert response.getheader("x-amzn-ErrorType", "").startswith("ValidationException:")
        return str(json.loads(response.read())["message"])
    finally:
        connection.close()


def raw_user(*blocks: object) -> Json:
    return {"messages": [{"role": "user", "content": list(blocks)}]}


RAW_REFUSED = [
    (
        "image bytes not base64",
        raw_user({"image": {"format": "png", "source": {"bytes": "iVBOR*w0"}}}),
        "not valid base64",
    ),
    (
        "image bytes empty",
        raw_user({"image": {"format": "png", "source": {"bytes": ""}}}),
        "1 to 3750000 bytes",
    ),
    (
        "document bytes not base64",
        raw_user(text(), {"document": {"name": "d", "format": "txt", "source": {"bytes": "%%"}}}),
        "not valid base64",
    ),
    ("unknown block", raw_user({"bogus": 1}), "bogus is not a supported content block"),
    (
        "content not a list",
        {"messages": [{"role": "user", "content": "hi"}]},
        "content must be a non-empty list",
    ),
    ("message not an object", {"messages": ["hi"]}, "messages[0] must be an object"),
    ("role missing", {"messages": [{"content": [text()]}]}, "messages[0].role must be 'user'"),
    ("text not a string", raw_user({"text": 5}), "text must be a string"),
    (
        "redacted bytes not base64",
        {"messages": [user(text()), assistant({"reasoningContent": {"redactedContent": "@@"}}, text())]},
        "redactedContent is not valid base64",
    ),
    (
        "maxTokens a bool",
        raw_user(text()) | {"inferenceConfig": {"maxTokens": True}},
        "maxTokens must be an integer",
    ),
    (
        "temperature a string",
        raw_user(text()) | {"inferenceConfig": {"temperature": "0.5"}},
        "temperature must be a number",
    ),
    (
        "additional fields a list",
        raw_user(text()) | {"additionalModelRequestFields": []},
        "must be an object",
    ),
    ("system a string", raw_user(text()) | {"system": "be nice"}, "system must be a list"),
]


@pytest.mark.parametrize(("body", "message"), [pytest.param(b, m, id=i) for i, b, m in RAW_REFUSED])
def test_bodies_boto3_cannot_send_are_refused_too(stub: BedrockStub, body: Json, message: str) -> None:
    assert message in raw_refusal(stub, HAIKU_35, body)


# --- what Bedrock accepts, the stand-in accepts ---------------------------------------------------

CACHING_MODELS = [
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "global.anthropic.claude-sonnet-4-6",
    "apac.anthropic.claude-opus-4-20250514-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "global.anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-6-v1",
    "us.anthropic.claude-opus-4-7",
    "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
    "amazon.nova-micro-v1:0",
    "us.amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "us.amazon.nova-premier-v1:0",
    "global.amazon.nova-2-lite-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
    "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
]
NOT_CACHING_MODELS = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "us.meta.llama3-1-8b-instruct-v1:0",
    "mistral.mistral-large-2402-v1:0",
    "amazon.titan-text-express-v1",
    DEEPSEEK,
    GPT_OSS,
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
]


@pytest.mark.parametrize("model", CACHING_MODELS)
def test_caching_models_take_cache_points(client: Any, model: str) -> None:
    arguments = ask(text("x @stub:cache-read=9"), CACHE, model=model, system=[text("s"), CACHE])
    events = list(client.converse_stream(**arguments)["stream"])
    assert events[-1]["metadata"]["usage"]["cacheReadInputTokens"] == 9


@pytest.mark.parametrize("model", NOT_CACHING_MODELS)
def test_other_models_refuse_cache_points(client: Any, model: str) -> None:
    assert "does not support prompt caching" in refusal(client, ask(text(), CACHE, model=model))


def accepted(client: Any, arguments: Json) -> list[Json]:
    return list(client.converse_stream(**arguments)["stream"])


ACCEPTED = [
    *[(f"{fmt} image", ask(text(), image(fmt, data))) for fmt, data in MAGIC.items()],
    ("gif87a", ask(image("gif", b"GIF87a" + bytes(4)))),
    ("largest image", ask(image("png", PNG + bytes(3_750_000 - len(PNG))))),
    ("20 images", ask(*[image()] * 20)),
    (
        "5 documents",
        ask(
            text(),
            *[
                document(f"Report (v{i}) [final]-x", fmt)
                for i, fmt in enumerate(["pdf", "csv", "docx", "md", "html"])
            ],
        ),
    ),
    (
        "every document format",
        {
            "modelId": HAIKU_35,
            "messages": [
                user(text(), *[document(f"d{i}", fmt) for i, fmt in enumerate(DOCUMENT_FORMATS[:5])]),
                assistant(text()),
                user(text(), *[document(f"d{i}", fmt) for i, fmt in enumerate(DOCUMENT_FORMATS[5:])]),
            ],
        },
    ),
    (
        "same document name in two messages",
        {
            "modelId": HAIKU_35,
            "messages": [user(text(), document("d")), assistant(text()), user(text(), document("d"))],
        },
    ),
    ("tool loop", loop()),
    (
        "tool loop with rich results",
        loop(
            result=tool_result(content=[text("a"), {"json": {"k": [1]}}, image(), document()], status="error")
        ),
    ),
    (
        "tool loop answered with a question",
        {**loop(), "messages": [*loop()["messages"], assistant(text("ok")), user(text("more"))]},
    ),
    ("trailing assistant tool call", {**loop(), "messages": loop()["messages"][:2]}),
    (
        "toolChoice kinds",
        ask(**tools(spec(description="d"), CACHE, spec("other"), toolChoice={"tool": {"name": "other"}})),
    ),
    (
        "four cache points",
        ask(text(), CACHE, system=[text("s"), CACHE], **tools(spec(), CACHE), model=NOVA_LITE)
        | {"messages": [user(text(), CACHE), assistant(text(), CACHE), user(text())]},
    ),
    ("enabled on Claude 3.7", ask(model=SONNET_37, inferenceConfig={"maxTokens": 1025}, **extra(**THINKING))),
    ("enabled on Opus 4.6", ask(model=OPUS_46, inferenceConfig={"maxTokens": 4096}, **extra(**THINKING))),
    (
        "adaptive on Opus 4.6 with max effort",
        ask(model=OPUS_46, outputConfig={"effort": "max"}, **extra(thinking={"type": "adaptive"})),
    ),
    (
        "adaptive on Sonnet 4.6",
        ask(
            model="us.anthropic.claude-sonnet-4-6",
            outputConfig={"effort": "xhigh"},
            **extra(thinking={"type": "adaptive"}),
        ),
    ),
    ("adaptive on Opus 4.7", ask(model=OPUS_47, **extra(thinking={"type": "adaptive"}))),
    (
        "thinking off on Opus 4.7 with high effort",
        ask(
            model=OPUS_47,
            outputConfig={"effort": "high"},
            inferenceConfig={"temperature": 0.3},
            **extra(thinking={"type": "disabled"}),
        ),
    ),
    (
        "thinking with toolChoice auto",
        ask(
            model=SONNET_45,
            inferenceConfig={"maxTokens": 2048},
            **tools(spec(), toolChoice={"auto": {}}),
            **extra(**THINKING),
        ),
    ),
    ("forced tool use without thinking", ask(model=SONNET_45, **tools(spec(), toolChoice={"any": {}}))),
    (
        "Nova 2 low with temperature",
        ask(
            model=NOVA_2,
            inferenceConfig={"temperature": 0.2},
            **extra(reasoningConfig={"type": "enabled", "maxReasoningEffort": "low"}),
        ),
    ),
    (
        "Nova 2 high",
        ask(model=NOVA_2, **extra(reasoningConfig={"type": "enabled", "maxReasoningEffort": "high"})),
    ),
    ("gpt-oss effort", ask(model=GPT_OSS, **extra(reasoning_effort="high"))),
    ("other extra fields", ask(model=NOVA_LITE, **extra(inferenceConfig={"topK": 20}))),
    (
        "guardrail by ARN and DRAFT",
        ask(
            **guard(
                guardrailIdentifier="arn:aws:bedrock:us-east-1:123456789012:guardrail/abc",
                guardrailVersion="DRAFT",
                trace="enabled_full",
                streamProcessingMode="async",
            )
        ),
    ),
    (
        "guardrail version 99999999",
        ask(**guard(guardrailVersion="99999999", trace="disabled", streamProcessingMode="sync")),
    ),
    (
        "boundary inference values",
        ask(inferenceConfig={"maxTokens": 1, "temperature": 0, "topP": 1, "stopSequences": ["\n\n"]}),
    ),
    (
        "reasoning history without thinking",
        {
            "modelId": HAIKU_35,
            "messages": [
                user(text()),
                assistant({"reasoningContent": {"redactedContent": b"x"}}, text()),
                user(text()),
            ],
        },
    ),
]


@pytest.mark.parametrize("arguments", [pytest.param(a, id=i) for i, a in ACCEPTED])
def test_well_formed_requests_are_answered(client: Any, arguments: Json) -> None:
    events = accepted(client, arguments)
    assert list(events[0]) == ["messageStart"] and list(events[-1]) == ["metadata"]
