"""`POST …/v1/embeddings` (the OpenAI Embeddings API): the request checked field by field, one InvokeModel
call per Titan input or per 96 Cohere inputs, and the `{"object": "list", "data": [...]}` reply with float
or base64 (little-endian float32, as the openai SDK decodes it) vectors."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from streaming_runtime import StreamingResponse

from bedrock_handler import embedding_formats, openai_request
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import (
    DeadlineError,
    HandlerError,
    MethodNotAllowedError,
    RequestError,
    UnsupportedMediaTypeError,
    UpstreamError,
)
from bedrock_handler.http_event import HttpRequest, json_object
from bedrock_handler.reply import compact_json

# Inputs per request: one Cohere call's worth. Titan takes one text per call, so this also bounds the
# calls (and the time) one request costs. OpenAI's own limit is 2,048.
MAX_INPUTS = 96
ENCODING_FORMATS = ("float", "base64")
# Beyond OpenAI's fields: Cohere's `input_type` (its default here is search_document), sent as extra_body.
_FIELDS = frozenset({"model", "input", "encoding_format", "dimensions", "user", "input_type"})
_NOT_ENABLED = "embeddings are not enabled on this function (it was deployed without embedding models)"


@runtime_checkable
class EmbeddingModel(Protocol):
    """The one Bedrock call embeddings need: InvokeModel with a JSON body, answered with the decoded
    JSON body and the input-token header's count (None when absent); failures are `UpstreamError`s."""

    def embed(self, model_id: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]: ...


class EmbeddingsRequest:
    """A checked embeddings request."""

    # A slotted class: a dataclass costs ~0.7 ms and a NamedTuple ~0.06 ms of every cold start to define.
    __slots__ = ("caller", "dimensions", "encoding", "family", "input_type", "model_id", "texts")

    def __init__(
        self,
        *,
        model_id: str,
        family: str,
        texts: list[str],
        encoding: str,
        dimensions: int | None,
        input_type: str | None,
        caller: str | None,
    ) -> None:
        self.model_id, self.family, self.texts, self.encoding = model_id, family, texts, encoding
        self.dimensions, self.input_type, self.caller = dimensions, input_type, caller


def parse(http: HttpRequest, *, config: HandlerConfig) -> EmbeddingsRequest:
    """Check the endpoint is on, then method, content type, body and every field."""
    if not config.embedding_model_ids:
        raise RequestError(_NOT_ENABLED, status=404, error_type="model_not_found")
    if http.method != "POST":
        raise MethodNotAllowedError(http.method, allow="POST")
    if not http.is_json:
        raise UnsupportedMediaTypeError(http.media_type, accepted="application/json")
    body = json_object(http.body_text(max_bytes=config.max_request_bytes))
    for name in sorted(body):
        if name not in _FIELDS:
            raise RequestError(f"unrecognized request argument: {name[:64]}", param=name[:64])
    model_id = body.get("model")
    if not isinstance(model_id, str) or not model_id:
        raise RequestError("model must be a non-empty string", param="model")
    if model_id not in config.embedding_model_ids:
        raise RequestError(
            "model is not an embedding model served here; GET /v1/models lists the models",
            status=404,
            error_type="model_not_found",
            param="model",
        )
    try:
        family = embedding_formats.model_family(model_id)
    except embedding_formats.UnknownEmbeddingModelError as exc:  # a deployment problem, not the caller's
        raise HandlerError(str(exc)) from None
    return EmbeddingsRequest(
        model_id=model_id,
        family=family,
        texts=_texts(body.get("input"), family),
        encoding=_encoding(body.get("encoding_format")),
        dimensions=_dimensions(body.get("dimensions"), family),
        input_type=_input_type(body.get("input_type"), family),
        caller=openai_request.caller(body.get("user")),
    )


def _texts(value: object, family: str) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise RequestError("input must be a string or a non-empty list of strings", param="input")
    if len(texts) > MAX_INPUTS:
        raise RequestError(f"input holds more than {MAX_INPUTS} strings", param="input")
    limit = embedding_formats.MAX_CHARS.get(family)
    for index, text in enumerate(texts):
        where = "input" if isinstance(value, str) else f"input[{index}]"
        if not isinstance(text, str):
            raise RequestError(
                f"{where} must be a string: token arrays are not supported (Bedrock embeds text)",
                param="input",
            )
        if not text:
            raise RequestError(f"{where} must not be empty", param="input")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise RequestError(
                    f"{where} holds a lone surrogate (no Unicode text)", param="input"
                ) from None
        if limit is not None and len(text) > limit:
            raise RequestError(f"{where} exceeds this model's {limit} characters", param="input")
    return texts


def _encoding(value: object) -> str:
    if value is None:
        return "float"
    if value not in ENCODING_FORMATS:
        raise RequestError("encoding_format must be float or base64", param="encoding_format")
    return str(value)


def _dimensions(value: object, family: str) -> int | None:
    if value is None:
        return None
    sizes = embedding_formats.DIMENSIONS[family]
    if not isinstance(value, int) or isinstance(value, bool) or value not in sizes:
        choices = ", ".join(str(size) for size in sizes)
        raise RequestError(f"dimensions must be one of {choices} for this model", param="dimensions")
    return value if embedding_formats.chooses_dimensions(family) else None


def _input_type(value: object, family: str) -> str | None:
    if value is None:
        return None
    if family not in (embedding_formats.COHERE_V3, embedding_formats.COHERE_V4):
        raise RequestError("input_type is a Cohere Embed option; this model has none", param="input_type")
    if value not in embedding_formats.COHERE_INPUT_TYPES:
        choices = ", ".join(embedding_formats.COHERE_INPUT_TYPES)
        raise RequestError(f"input_type must be one of {choices}", param="input_type")
    return str(value)


def create(
    request: EmbeddingsRequest,
    *,
    model: EmbeddingModel,
    request_id: str,
    time_left_ms: Callable[[], int],
) -> tuple[StreamingResponse, int]:
    """Call the model (once per body, checking the time left before each call) and build the 200
    response; returns it with the input token count Bedrock reported."""
    vectors: list[list[float]] = []
    tokens = 0
    for body in embedding_formats.request_bodies(
        request.family, request.texts, dimensions=request.dimensions, input_type=request.input_type
    ):
        if time_left_ms() < 0:
            raise DeadlineError("not enough invocation time left to call the model")
        answer, header_tokens = model.embed(request.model_id, body)
        expected = len(body.get("texts", ())) or 1
        try:
            batch, batch_tokens = embedding_formats.read_response(
                request.family, answer, header_tokens, expected=expected
            )
        except embedding_formats.MalformedEmbeddingError as exc:
            raise UpstreamError(f"Bedrock returned an unreadable embedding: {exc}") from None
        vectors.extend(batch)
        tokens += batch_tokens
    document = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": _encoded(vector, request.encoding)}
            for index, vector in enumerate(vectors)
        ],
        "model": request.model_id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    headers = {"content-type": "application/json", "x-request-id": request_id}
    return StreamingResponse([compact_json(document)], status_code=200, headers=headers), tokens


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    try:
        packed = struct.pack(f"<{len(vector)}f", *vector)
    except (OverflowError, struct.error):
        raise UpstreamError("Bedrock returned an embedding value outside float32") from None
    return base64.b64encode(packed).decode("ascii")
