"""`GET …/v1/models` and `GET …/v1/models/{id}`: the allow-list, its aliases and the embedding models in
the SDK's shapes, answered from the configuration (no Bedrock call)."""

from __future__ import annotations

from streaming_runtime import StreamingResponse

from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import MethodNotAllowedError, RequestError
from bedrock_handler.http_event import HttpRequest
from bedrock_handler.reply import compact_json
from bedrock_handler.routes import Endpoint

# Cross-Region inference profile prefixes: `us.anthropic.claude-…` is owned by `anthropic`.
_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})


def owner(model_id: str) -> str:
    """The provider named by a model id (`amazon.nova-lite-v1:0` -> `amazon`); `bedrock` for an ARN."""
    if model_id.startswith("arn:"):
        return "bedrock"
    parts = model_id.split(".")
    return parts[1] if len(parts) > 2 and parts[0] in _GEOGRAPHIES else parts[0]


def model_objects(config: HandlerConfig) -> list[dict[str, object]]:
    """Every name `model` accepts: the allow-listed ids, then the aliases (owned by their target's provider),
    then the embedding models (`EMBEDDING_MODEL_IDS`, for `POST …/v1/embeddings`).

    `created` is 0: Bedrock model ids carry no creation time, and a made-up one would mislead.
    """
    names = [(model_id, model_id) for model_id in config.model_ids] + list(config.model_aliases)
    names += [(i, i) for i in config.embedding_model_ids if i not in config.model_ids]
    return [
        {"id": name, "object": "model", "created": 0, "owned_by": owner(target)} for name, target in names
    ]


def _json_response(document: object, *, request_id: str) -> StreamingResponse:
    body = compact_json(document, ascii_only=True)
    return StreamingResponse(
        [body], status_code=200, headers={"content-type": "application/json", "x-request-id": request_id}
    )


def answer(
    http: HttpRequest, endpoint: str, model_id: str, *, config: HandlerConfig, request_id: str
) -> StreamingResponse:
    """The `{"object": "list", "data": [...]}` page of every model name, or the one model of
    `GET …/v1/models/{id}` (404 `model_not_found` when there is none)."""
    if http.method != "GET":
        raise MethodNotAllowedError(http.method, allow="GET")
    models = model_objects(config)
    if endpoint == Endpoint.OPENAI_MODELS:
        return _json_response({"object": "list", "data": models}, request_id=request_id)
    for model in models:
        if model["id"] == model_id:
            return _json_response(model, request_id=request_id)
    raise RequestError("model is not available here", status=404, error_type="model_not_found", param="model")
