"""The InvokeModel bodies and responses of the Bedrock embedding models, per family: Titan Text Embeddings
(G1 and V2) and Cohere Embed (v3 and v4).

Written from the Bedrock user guide (model-parameters-titan-embed-text, titan-embedding-models,
model-parameters-embed-v3, model-parameters-embed-v4):

- Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`): one text per call,
  `{"inputText", "dimensions"?: 256|512|1024 (default 1024), "normalize"?: bool (default true),
  "embeddingTypes"?}` -> `{"embedding": [float...], "inputTextTokenCount": int, "embeddingsByType"}`.
  The input is a non-empty string of at most 8,192 tokens or 50,000 characters.
- Titan Text Embeddings G1 (`amazon.titan-embed-text-v1`): `{"inputText"}` only -> the same
  `embedding` and `inputTextTokenCount`; 1,536 dimensions.
- Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`): `{"texts": [...] (at most
  96, each at most 2,048 characters), "input_type": search_document|search_query|classification|clustering,
  "truncate"?, "embedding_types"?}` -> `{"id", "embeddings", "response_type", "texts"}` where `embeddings`
  is a list of vectors (`embeddings_floats`, no `embedding_types` sent) or `{"float": [...]}`
  (`embeddings_by_type`); 1,024 dimensions.
- Cohere Embed v4 (`cohere.embed-v4:0`): like v3 plus `"output_dimension"?: 256|512|1024|1536` (default
  1536), `"max_tokens"?`, truncate NONE|LEFT|RIGHT; `embeddings` is `{"float": [...]}`.

The body carries no token count for Cohere: Bedrock reports it in the `X-Amzn-Bedrock-Input-Token-Count`
response header, which `BedrockModelStream.embed` returns beside the body.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

TITAN_V1 = "titan-v1"
TITAN_V2 = "titan-v2"
COHERE_V3 = "cohere-v3"
COHERE_V4 = "cohere-v4"

# Model id prefix (after any geography) -> family. The longest match wins.
_PREFIXES = {
    "amazon.titan-embed-text-v1": TITAN_V1,
    "amazon.titan-embed-text-v2": TITAN_V2,
    "cohere.embed-english-v3": COHERE_V3,
    "cohere.embed-multilingual-v3": COHERE_V3,
    "cohere.embed-v4": COHERE_V4,
}
_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
# Texts per InvokeModel call: Titan takes one, Cohere up to 96.
BATCH = {TITAN_V1: 1, TITAN_V2: 1, COHERE_V3: 96, COHERE_V4: 96}
# The sizes `dimensions` may ask for; a family without a choice accepts only its one size (sent nowhere).
DIMENSIONS: dict[str, tuple[int, ...]] = {
    TITAN_V1: (1536,),
    TITAN_V2: (256, 512, 1024),
    COHERE_V3: (1024,),
    COHERE_V4: (256, 512, 1024, 1536),
}
_CHOOSES_DIMENSIONS = frozenset({TITAN_V2, COHERE_V4})
# Documented character limits of one input (Titan G1 and Cohere v4 document a token limit only).
MAX_CHARS = {TITAN_V2: 50_000, COHERE_V3: 2048}
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


class UnknownEmbeddingModelError(ValueError):
    """A model id whose InvokeModel body this handler does not know."""


class MalformedEmbeddingError(ValueError):
    """A Bedrock embedding response without the fields its family documents."""


def model_family(model_id: str) -> str:
    """The family of an embedding model id (a geography prefix such as `us.` is skipped)."""
    first, _, rest = model_id.partition(".")
    name = rest if first in _GEOGRAPHIES and "." in rest else model_id
    matches = [prefix for prefix in _PREFIXES if name.startswith(prefix)]
    if not matches:
        raise UnknownEmbeddingModelError(f"no embeddings request format for model {model_id!r}")
    return _PREFIXES[max(matches, key=len)]


def request_bodies(
    family: str, texts: Sequence[str], *, dimensions: int | None, input_type: str | None
) -> list[dict[str, Any]]:
    """The InvokeModel bodies for `texts`, in order: one per text for Titan, one per 96 for Cohere.

    `dimensions` is sent only to the families that choose a size; `input_type` is Cohere's (default
    `search_document`, what an OpenAI caller embedding documents means).
    """
    if family in (TITAN_V1, TITAN_V2):
        bodies: list[dict[str, Any]] = []
        for text in texts:
            body: dict[str, Any] = {"inputText": text}
            if family == TITAN_V2:
                if dimensions is not None:
                    body["dimensions"] = dimensions
                body["normalize"] = True  # unit vectors, as OpenAI's embeddings are
            bodies.append(body)
        return bodies
    size = BATCH[family]
    bodies = []
    for start in range(0, len(texts), size):
        body = {
            "texts": list(texts[start : start + size]),
            "input_type": input_type or "search_document",
            "embedding_types": ["float"],
        }
        if family == COHERE_V4 and dimensions is not None:
            body["output_dimension"] = dimensions
        bodies.append(body)
    return bodies


def chooses_dimensions(family: str) -> bool:
    """Whether the family's body carries the requested size (otherwise only its one size is accepted)."""
    return family in _CHOOSES_DIMENSIONS


def read_response(
    family: str, document: Mapping[str, Any], header_tokens: int | None, *, expected: int
) -> tuple[list[list[float]], int]:
    """The vectors of one response (`expected` of them) and its input token count: Titan's
    `inputTextTokenCount`, else Bedrock's input-token header, else 0."""
    vectors: list[Any]
    if family in (TITAN_V1, TITAN_V2):
        vectors = [document.get("embedding")]
        tokens = document.get("inputTextTokenCount", header_tokens)
    else:
        embeddings = document.get("embeddings")
        if isinstance(embeddings, Mapping):  # embeddings_by_type
            embeddings = embeddings.get("float")
        vectors = embeddings if isinstance(embeddings, list) else []
        tokens = header_tokens
    if len(vectors) != expected or not all(_is_vector(vector) for vector in vectors):
        raise MalformedEmbeddingError(f"expected {expected} float vectors in the {family} response")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0):
        raise MalformedEmbeddingError(f"the {family} response's token count is not a count")
    return vectors, tokens or 0


def _is_vector(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in value)
    )
