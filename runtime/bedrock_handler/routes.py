"""Path -> endpoint: the OpenAI-compatible paths under any prefix ending in `/v1`; every other path is the
native chat API."""

from __future__ import annotations

import enum
from typing import NamedTuple
from urllib.parse import unquote

_CHAT_COMPLETIONS = "/v1/chat/completions"
_MODELS = "/v1/models"


class Endpoint(enum.Enum):
    """What a request asks for."""

    NATIVE_CHAT = "native"
    OPENAI_CHAT = "openai-chat"
    OPENAI_MODELS = "openai-models"
    OPENAI_MODEL = "openai-model"


class Route(NamedTuple):
    """The endpoint, and the model id of `GET …/v1/models/{id}`."""

    endpoint: Endpoint
    model_id: str = ""


def route(path: str) -> Route:
    """Route by the end of the path, so a stage or custom base path before `/v1` needs no setting.

    `/prod/v1/chat/completions` is the OpenAI chat endpoint; `/`, `/chat` and anything else not ending
    in an OpenAI path stay with the native API, as before the OpenAI API existed.
    """
    trimmed = path.rstrip("/") if path != "/" else path
    if trimmed.endswith(_CHAT_COMPLETIONS):
        return Route(Endpoint.OPENAI_CHAT)
    if trimmed.endswith(_MODELS):
        return Route(Endpoint.OPENAI_MODELS)
    _, found, model_id = trimmed.rpartition(_MODELS + "/")
    if found and model_id:
        return Route(Endpoint.OPENAI_MODEL, unquote(model_id))
    return Route(Endpoint.NATIVE_CHAT)
