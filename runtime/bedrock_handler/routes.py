"""Path -> endpoint: the OpenAI-compatible paths under any prefix ending in `/v1`; every other path is the
native chat API."""

from __future__ import annotations

from urllib.parse import unquote

_CHAT_COMPLETIONS = "/v1/chat/completions"
_MODELS = "/v1/models"
_EMBEDDINGS = "/v1/embeddings"


class Endpoint:
    """What a request asks for (plain strings: an Enum costs ~0.05 ms of every cold start to define)."""

    NATIVE_CHAT = "native"
    OPENAI_CHAT = "openai-chat"
    OPENAI_MODELS = "openai-models"
    OPENAI_MODEL = "openai-model"
    OPENAI_EMBEDDINGS = "openai-embeddings"


def route(path: str) -> tuple[str, str]:
    """The `Endpoint` of a path, and the model id of `GET …/v1/models/{id}` ('' for the others). Routed by
    the end of the path, so a stage or custom base path before `/v1` needs no setting.

    `/prod/v1/chat/completions` is the OpenAI chat endpoint; `/`, `/chat` and anything else not ending
    in an OpenAI path stay with the native API, as before the OpenAI API existed.
    """
    trimmed = path.rstrip("/") if path != "/" else path
    if trimmed.endswith(_CHAT_COMPLETIONS):
        return Endpoint.OPENAI_CHAT, ""
    if trimmed.endswith(_MODELS):
        return Endpoint.OPENAI_MODELS, ""
    if trimmed.endswith(_EMBEDDINGS):
        return Endpoint.OPENAI_EMBEDDINGS, ""
    _, found, model_id = trimmed.rpartition(_MODELS + "/")
    if found and model_id:
        return Endpoint.OPENAI_MODEL, unquote(model_id)
    return Endpoint.NATIVE_CHAT, ""
