"""Output golden strings, per-family chunk parsers and request bodies, and the configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bedrock_handler import invoke_chunks, invoke_formats, native_output
from bedrock_handler.chat import ChatRequest, Message
from bedrock_handler.config import ConfigError, HandlerConfig
from bedrock_handler.errors import ModelStreamError
from bedrock_handler.native_output import NativeEncoder, OutputFormat
from bedrock_handler.reply import Summary
from handler_support import base_env

SUMMARY = Summary(
    stop_reason="end_turn", input_tokens=3, output_tokens=2, first_token_ms=12, total_ms=40, model_id="m"
)
DONE_JSON = (
    '{"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},'
    '"metrics":{"firstTokenMs":12,"totalMs":40},"modelId":"m"}'
)


FAILURE = ModelStreamError("m", error_type="t")


def test_sse_golden_strings() -> None:
    sse = NativeEncoder(OutputFormat.SSE)
    assert sse.delta('a "q"\n') == 'event: delta\ndata: {"text":"a \\"q\\"\\n"}\n\n'
    assert sse.done(SUMMARY) == f"event: done\ndata: {DONE_JSON}\n\n"
    assert sse.error(FAILURE) == ('event: error\ndata: {"type":"t","message":"m"}\n\n')


def test_ndjson_golden_strings() -> None:
    ndjson = NativeEncoder(OutputFormat.NDJSON)
    assert ndjson.delta("hé") == '{"type":"delta","text":"hé"}\n'
    assert ndjson.done(SUMMARY) == '{"type":"done",' + DONE_JSON[1:] + "\n"
    assert ndjson.error(FAILURE) == ('{"type":"error","error":{"type":"t","message":"m"}}\n')


def test_text_format_is_raw() -> None:
    text = NativeEncoder(OutputFormat.TEXT)
    assert text.delta("a\n") == "a\n"
    assert text.done(SUMMARY) == ""
    assert text.error(FAILURE) == ""
    assert native_output.error_body(error_type="t", message="m") == '{"error":{"type":"t","message":"m"}}'


def parse_all(family: str, chunks: list[dict]) -> tuple[str, invoke_chunks.ChunkState]:
    state = invoke_chunks.ChunkState()
    text = "".join(invoke_chunks.parse_chunk(family, chunk, state) for chunk in chunks)
    return text, state


METRICS = {"amazon-bedrock-invocationMetrics": {"inputTokenCount": 11, "outputTokenCount": 22}}
RECORDED = {
    "anthropic": [
        {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop", **METRICS},
    ],
    "meta": [
        {"generation": "Hi", "prompt_token_count": 9, "generation_token_count": 1, "stop_reason": None},
        {
            "generation": " there",
            "prompt_token_count": None,
            "generation_token_count": 2,
            "stop_reason": "length",
            **METRICS,
        },
    ],
    "cohere": [
        {"text": "Hi", "is_finished": False},
        {"generations": [{"text": " there"}], "is_finished": False},
        {"text": "<EOS_TOKEN>", "is_finished": False},
        {
            "is_finished": True,
            "finish_reason": "MAX_TOKENS",
            "generations": [{"text": "Hi there"}],
            **METRICS,
        },
    ],
    "cohere-r": [
        {"event_type": "stream-start", "generation_id": "g"},
        {"event_type": "text-generation", "text": "Hi"},
        {"event_type": "text-generation", "text": " there"},
        {
            "event_type": "stream-end",
            "finish_reason": "MAX_TOKENS",
            "response": {"text": "Hi there"},
            **METRICS,
        },
    ],
    "titan": [
        {
            "outputText": "Hi",
            "index": 0,
            "totalOutputTextTokenCount": 1,
            "completionReason": None,
            "inputTextTokenCount": 9,
        },
        {
            "outputText": " there",
            "index": 0,
            "totalOutputTextTokenCount": 2,
            "completionReason": "LENGTH",
            **METRICS,
        },
    ],
    "nova": [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": " there"}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
        {"metadata": {"usage": {"inputTokens": 9, "outputTokens": 2}}, **METRICS},
    ],
    "mistral": [
        {"outputs": [{"text": "Hi", "stop_reason": None}]},
        {"outputs": [{"text": " there", "stop_reason": "length"}], **METRICS},
    ],
}


@pytest.mark.parametrize("family", sorted(RECORDED))
def test_chunk_parsers(family: str) -> None:
    text, state = parse_all(family, RECORDED[family])
    assert text == "Hi there"
    assert state.stop_reason == "max_tokens"
    assert (state.input_tokens, state.output_tokens) == (11, 22)  # invocation metrics win


def test_titan_finish_spellings_are_terminal() -> None:
    for reason in ("FINISH", "FINISHED"):
        _, state = parse_all("titan", [{"outputText": "x", "completionReason": reason}])
        assert state.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic"),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
        ("apac.amazon.nova-pro-v1:0", "nova"),
        ("eu.meta.llama3-2-1b-instruct-v1:0", "meta"),
        ("meta.llama3-8b-instruct-v1:0", "meta"),
        ("cohere.command-light-text-v14", "cohere"),
        ("cohere.command-r-plus-v1:0", "cohere-r"),
        ("amazon.titan-text-lite-v1", "titan"),
        ("mistral.mixtral-8x7b-instruct-v0:1", "mistral"),
        ("arn:aws:bedrock:us-east-1::foundation-model/mistral.mistral-large-2402-v1:0", "mistral"),
    ],
)
def test_model_family(model_id: str, family: str) -> None:
    assert invoke_formats.model_family(model_id) == family


def test_unknown_family_raises() -> None:
    with pytest.raises(invoke_formats.UnknownModelFamilyError):
        invoke_formats.model_family("ai21.jamba-1-5-mini-v1:0")


REQUEST = ChatRequest(
    model_id="m",
    messages=(Message("user", "a"), Message("assistant", "b"), Message("user", "c")),
    max_tokens=10,
    system="s",
    temperature=0.5,
    stop_sequences=("Z",),
)


def test_request_bodies_per_family() -> None:
    anthropic = invoke_formats.request_body("anthropic", REQUEST)
    assert anthropic["anthropic_version"] == "bedrock-2023-05-31" and anthropic["max_tokens"] == 10
    assert (
        anthropic["system"] == "s"
        and anthropic["stop_sequences"] == ["Z"]
        and anthropic["temperature"] == 0.5
    )
    assert anthropic["messages"][2] == {"role": "user", "content": [{"type": "text", "text": "c"}]}
    meta = invoke_formats.request_body("meta", REQUEST)
    assert meta["prompt"] == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ns<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nb<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nc<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert meta["max_gen_len"] == 10
    mistral = invoke_formats.request_body("mistral", REQUEST)
    assert mistral["prompt"] == "<s>[INST] s\n\na [/INST] b</s>[INST] c [/INST]" and mistral["stop"] == ["Z"]
    titan = invoke_formats.request_body("titan", REQUEST)
    assert titan["inputText"] == "s\nUser: a\nBot: b\nUser: c\nBot:"
    assert titan["textGenerationConfig"] == {"maxTokenCount": 10, "temperature": 0.5, "stopSequences": ["Z"]}
    nova = invoke_formats.request_body("nova", REQUEST)
    assert nova["system"] == [{"text": "s"}] and nova["inferenceConfig"]["maxTokens"] == 10
    cohere_r = invoke_formats.request_body("cohere-r", REQUEST)
    assert cohere_r["message"] == "c" and cohere_r["preamble"] == "s"
    assert cohere_r["chat_history"] == [{"role": "USER", "message": "a"}, {"role": "CHATBOT", "message": "b"}]
    assert invoke_formats.request_body("cohere", REQUEST)["prompt"].endswith("User: c\nChatbot:")


def test_config_defaults() -> None:
    config = HandlerConfig.from_env({"AWS_DEFAULT_REGION": "eu-west-1"})
    assert config.model_ids == ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "amazon.nova-lite-v1:0")
    assert (config.region, config.max_tokens_limit, config.default_max_tokens) == ("eu-west-1", 4096, 1024)
    assert (config.max_request_bytes, config.deadline_margin_ms, config.bedrock_api) == (
        6_291_456,
        2000,
        "converse",
    )
    assert not config.uses_invoke(config.default_model_id)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_TOKENS_LIMIT": "lots"}, "MAX_TOKENS_LIMIT must be an integer"),
        ({"MAX_TOKENS_LIMIT": "0"}, "MAX_TOKENS_LIMIT must be at least 1"),
        ({"DEFAULT_MAX_TOKENS": "9000"}, "DEFAULT_MAX_TOKENS must not exceed"),
        ({"MAX_REQUEST_BYTES": "-1"}, "MAX_REQUEST_BYTES must be at least 1"),
        ({"DEADLINE_MARGIN_MS": "soon"}, "DEADLINE_MARGIN_MS must be an integer"),
        ({"BEDROCK_API": "grpc"}, "BEDROCK_API must be one of"),
        ({"INVOKE_MODEL_IDS": "other.model"}, "INVOKE_MODEL_IDS not in MODEL_IDS"),
        ({"BEDROCK_READ_TIMEOUT_S": "0"}, "BEDROCK_READ_TIMEOUT_S must be a positive"),
        ({"MODEL_IDS": "a,a"}, "lists a model id twice"),
        ({"AWS_REGION": ""}, "AWS_REGION"),
    ],
)
def test_invalid_config_is_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HandlerConfig.from_env(base_env(**env))


def run_app_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root / "runtime"), **env}
    code = "import bedrock_handler.app as a; print(a.CONFIG.model_ids, a.MODEL)"
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )


def test_app_import_builds_config_and_client() -> None:
    result = run_app_import(base_env(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y"))
    assert result.returncode == 0, result.stderr
    assert "BedrockModelStream" in result.stdout


def test_app_import_fails_on_bad_config() -> None:
    result = run_app_import(base_env(BEDROCK_API="invoke", MODEL_IDS="ai21.jamba-1-5-mini-v1:0"))
    assert result.returncode != 0
    assert "ConfigError" in result.stderr and "no InvokeModel format" in result.stderr


def test_app_import_fails_on_an_embedding_model_without_a_format() -> None:
    result = run_app_import(base_env(EMBEDDING_MODEL_IDS="amazon.titan-embed-text-v2:0,mistral.embed-v1:0"))
    assert result.returncode != 0
    assert (
        "ConfigError" in result.stderr
        and "EMBEDDING_MODEL_IDS: no embeddings request format" in result.stderr
    )
    assert "mistral.embed-v1:0" in result.stderr


@pytest.mark.parametrize("fmt", [OutputFormat.SSE, OutputFormat.NDJSON])
def test_in_band_errors_are_ascii_json_so_a_lone_surrogate_can_be_sent(fmt: OutputFormat) -> None:
    event = NativeEncoder(fmt).error(ModelStreamError("bad \ud800 é", error_type="t"))
    event.encode("utf-8")  # what the runtime does with every piece; would raise UnicodeEncodeError
    assert "\\ud800 \\u00e9" in event
