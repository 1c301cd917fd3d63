"""The entry point `bedrock_handler.app.handler`; importing it is the init phase (config + Bedrock client)."""

from __future__ import annotations

import os

from streaming_runtime import RawStreamingResponse, StreamingResponse

from bedrock_handler import invoke_formats
from bedrock_handler.config import ConfigError, HandlerConfig
from bedrock_handler.invocation import InvocationContext, respond
from bedrock_handler.model import BedrockModelStream, create_bedrock_client


def _init() -> tuple[HandlerConfig, BedrockModelStream]:
    config = HandlerConfig.from_env(os.environ)
    for model_id in config.model_ids:
        if config.uses_invoke(model_id):
            try:
                invoke_formats.model_family(model_id)
            except invoke_formats.UnknownModelFamilyError as exc:
                raise ConfigError(f"{exc}; use BEDROCK_API=converse for it") from None
    if config.embedding_model_ids:
        from bedrock_handler import embedding_formats  # noqa: PLC0415 - only with EMBEDDING_MODEL_IDS

        for model_id in config.embedding_model_ids:
            try:
                embedding_formats.model_family(model_id)
            except embedding_formats.UnknownEmbeddingModelError as exc:
                raise ConfigError(f"EMBEDDING_MODEL_IDS: {exc}") from None
    # Built here, before the first /next, so no request pays for the client (~300 ms) and provisioned
    # concurrency pre-warms it.
    return config, BedrockModelStream(client=create_bedrock_client(config), config=config)


CONFIG, MODEL = _init()


def handler(event: object, context: InvocationContext) -> StreamingResponse | RawStreamingResponse:
    """Stream a Bedrock reply to a Function URL, REST API or direct request (see invocation.respond)."""
    return respond(event, context, config=CONFIG, model=MODEL)
