"""The new settings of `HandlerConfig.from_env`: GUARDRAIL_ID/GUARDRAIL_VERSION (both or neither; DRAFT or a
version number as Bedrock's `GuardrailVersion` pattern `[1-9][0-9]{0,7}` allows), GUARDRAIL_STREAM_MODE,
PROMPT_CACHING, EMBEDDING_MODEL_IDS, and the MAX_REQUEST_BYTES default of 6291456.
"""

from __future__ import annotations

import pytest
from bedrock_handler.config import ConfigError, HandlerConfig
from handler_support import base_env


def load(**env: str) -> HandlerConfig:
    return HandlerConfig.from_env(base_env(**env))


def problem(**env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(**env)
    return str(caught.value)


def test_defaults() -> None:
    config = load()
    assert (config.guardrail_id, config.guardrail_version, config.guardrail_stream_mode) == (
        None,
        None,
        "sync",
    )
    assert (config.prompt_caching, config.embedding_model_ids) == ("none", ())
    assert config.max_request_bytes == 6291456


def test_max_request_bytes_can_be_set() -> None:
    assert load(MAX_REQUEST_BYTES="262144").max_request_bytes == 262144
    assert load(MAX_REQUEST_BYTES="").max_request_bytes == 6291456
    assert "MAX_REQUEST_BYTES must be at least 1, not 0" in problem(MAX_REQUEST_BYTES="0")


# --- guardrail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guardrail_id", "version", "expected"),
    [
        ("gr0abc12", "DRAFT", ("gr0abc12", "DRAFT")),
        ("gr0abc12", "1", ("gr0abc12", "1")),
        ("gr0abc12", "12345678", ("gr0abc12", "12345678")),
        (" gr0abc12 ", " 7 ", ("gr0abc12", "7")),
        (
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr0abc12",
            "3",
            ("arn:aws:bedrock:us-east-1:123456789012:guardrail/gr0abc12", "3"),
        ),
    ],
)
def test_guardrail(guardrail_id: str, version: str, expected: tuple[str, str]) -> None:
    config = load(GUARDRAIL_ID=guardrail_id, GUARDRAIL_VERSION=version)
    assert (config.guardrail_id, config.guardrail_version) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"GUARDRAIL_ID": "gr0abc12"},
        {"GUARDRAIL_VERSION": "1"},
        {"GUARDRAIL_ID": "gr0abc12", "GUARDRAIL_VERSION": "  "},
        {"GUARDRAIL_ID": "", "GUARDRAIL_VERSION": "DRAFT"},
    ],
)
def test_guardrail_id_and_version_come_together(env: dict[str, str]) -> None:
    assert "GUARDRAIL_ID and GUARDRAIL_VERSION must be set together" in problem(**env)


@pytest.mark.parametrize(
    "version",
    [
        "draft",  # Bedrock's pattern is case-sensitive
        "Draft",
        "0",
        "01",
        "007",
        "1.0",
        "-1",
        "+1",
        "v1",
        "1 2",
        "١",  # ARABIC-INDIC DIGIT ONE: str.isdigit() says yes
        "²",  # SUPERSCRIPT TWO
        "１",  # FULLWIDTH DIGIT ONE
        "latest",
    ],
)
def test_guardrail_version_must_be_draft_or_a_number(version: str) -> None:
    message = problem(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION=version)
    assert f"GUARDRAIL_VERSION must be DRAFT or a version number (1 to 99999999), not {version!r}" in message


def test_a_guardrail_version_longer_than_bedrocks_pattern_is_refused() -> None:
    """Bedrock's GuardrailVersion is `[1-9][0-9]{0,7}`: a ninth digit fails every Converse call (502)."""
    message = problem(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION="123456789")
    assert "GUARDRAIL_VERSION must be DRAFT or a version number (1 to 99999999), not '123456789'" in message


@pytest.mark.parametrize(
    ("raw", "mode"), [("", "sync"), ("sync", "sync"), ("async", "async"), (" ASYNC ", "async")]
)
def test_guardrail_stream_mode(raw: str, mode: str) -> None:
    config = load(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION="1", GUARDRAIL_STREAM_MODE=raw)
    assert config.guardrail_stream_mode == mode


@pytest.mark.parametrize("raw", ["asynchronous", "on", "none", "1"])
def test_guardrail_stream_mode_refusals(raw: str) -> None:
    message = problem(GUARDRAIL_STREAM_MODE=raw)
    assert f"GUARDRAIL_STREAM_MODE must be one of sync, async, not {raw.lower()!r}" in message


# --- prompt caching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", "none"),
        ("none", "none"),
        ("system", "system"),
        ("messages", "messages"),
        ("all", "all"),
        (" ALL ", "all"),
    ],
)
def test_prompt_caching(raw: str, mode: str) -> None:
    assert load(PROMPT_CACHING=raw).prompt_caching == mode


@pytest.mark.parametrize("raw", ["true", "on", "message", "system,messages", "tools"])
def test_prompt_caching_refusals(raw: str) -> None:
    message = problem(PROMPT_CACHING=raw)
    assert f"PROMPT_CACHING must be one of none, system, messages, all, not {raw!r}" in message


# --- embeddings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("", ()),
        (" , ", ()),
        ("amazon.titan-embed-text-v2:0", ("amazon.titan-embed-text-v2:0",)),
        (
            " amazon.titan-embed-text-v2:0 ,cohere.embed-english-v3,,"
            " cohere.embed-multilingual-v3,cohere.embed-v4:0 ",
            (
                "amazon.titan-embed-text-v2:0",
                "cohere.embed-english-v3",
                "cohere.embed-multilingual-v3",
                "cohere.embed-v4:0",
            ),
        ),
    ],
)
def test_embedding_model_ids(raw: str, ids: tuple[str, ...]) -> None:
    assert load(EMBEDDING_MODEL_IDS=raw).embedding_model_ids == ids


def test_embedding_model_ids_twice_is_refused() -> None:
    message = problem(EMBEDDING_MODEL_IDS="cohere.embed-v4:0,cohere.embed-v4:0")
    assert "EMBEDDING_MODEL_IDS lists a model id twice" in message


def test_every_problem_is_reported_at_once() -> None:
    message = problem(GUARDRAIL_ID="gr0abc12", GUARDRAIL_STREAM_MODE="x", PROMPT_CACHING="y")
    assert message.startswith("invalid configuration: ")
    for part in ("GUARDRAIL_ID and GUARDRAIL_VERSION", "GUARDRAIL_STREAM_MODE", "PROMPT_CACHING"):
        assert part in message
