"""The stand-in's non-streamed InvokeModel for the embedding models: Titan Text Embeddings (G1, V2) and Cohere
Embed (v3, v4) bodies checked as Bedrock checks them, answered with deterministic vectors.

Written from the Bedrock user guide (model-parameters-titan-embed-text, titan-embedding-models,
model-parameters-embed-v3, model-parameters-embed-v4), never from the handler: the stand-in is the oracle.

- Titan V2 `{"inputText" (1 to 50,000 characters), "dimensions"?: 256|512|1024, "normalize"?: bool,
  "embeddingTypes"?: ["float"|"binary"]}` -> `{"embedding", "inputTextTokenCount", "embeddingsByType"}`;
  Titan G1 takes `{"inputText"}` only (1,536 dimensions).
- Cohere v3 `{"texts" (at most 96, each at most 2,048 characters), "input_type", "truncate"?: NONE|START|END,
  "embedding_types"?}` -> `{"id", "embeddings", "response_type", "texts"}`: a list of vectors
  (`embeddings_floats`) without `embedding_types`, `{"float": [...]}` (`embeddings_by_type`) with it.
- Cohere v4 adds `"output_dimension"?: 256|512|1024|1536`, `"max_tokens"?`, truncate NONE|LEFT|RIGHT, and
  always answers `embeddings_by_type`.

A vector is derived from the SHA-256 of its text (`stub_vector`), unit length unless Titan's `normalize`
is false, each value a float32 (so a base64 float32 encoding of it is exact). Tokens are words. The
`X-Amzn-Bedrock-Input-Token-Count` header carries the count for every family, as Bedrock's does. Images
and embedding types other than float (and Titan's binary) are not simulated: 400.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.stub_frames import StubError
from emulator.stub_replies import (
    DIRECTIVE_PREFIX,
    DirectiveError,
    Directives,
    parse_directives,
    pre_stream_error,
)

TITAN_V1, TITAN_V2, COHERE_V3, COHERE_V4 = "titan-v1", "titan-v2", "cohere-v3", "cohere-v4"
# The documented foundation model ids (a version suffix such as `:0` follows).
_FAMILIES = {
    "amazon.titan-embed-text-v1": TITAN_V1,
    "amazon.titan-embed-text-v2": TITAN_V2,
    "cohere.embed-english-v3": COHERE_V3,
    "cohere.embed-multilingual-v3": COHERE_V3,
    "cohere.embed-v4": COHERE_V4,
}
DEFAULT_DIMENSIONS = {TITAN_V1: 1536, TITAN_V2: 1024, COHERE_V3: 1024, COHERE_V4: 1536}
TITAN_V2_DIMENSIONS = (256, 512, 1024)
COHERE_V4_DIMENSIONS = (256, 512, 1024, 1536)
TITAN_MAX_CHARS = 50_000
COHERE_V3_MAX_CHARS = 2048
COHERE_MAX_TEXTS = 96
COHERE_V4_MAX_TOKENS = 128_000
_COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
_COHERE_EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
_KEYS = {
    TITAN_V1: frozenset({"inputText"}),
    TITAN_V2: frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"}),
    COHERE_V3: frozenset({"texts", "images", "input_type", "truncate", "embedding_types"}),
    COHERE_V4: frozenset(
        {
            "texts",
            "images",
            "inputs",
            "input_type",
            "embedding_types",
            "output_dimension",
            "max_tokens",
            "truncate",
        }
    ),
}


@dataclass(frozen=True, slots=True)
class EmbeddingReply:
    """One InvokeModel answer: the JSON body, its headers, and the `@stub:` directives found in the texts
    (only the pre-stream errors and `hang-ms` apply to InvokeModel)."""

    body: bytes
    headers: dict[str, str]
    directives: Directives


def embedding_family(model_id: str) -> str | None:
    """The embedding family of a foundation model id, or None for any other model."""
    matches = [prefix for prefix in _FAMILIES if model_id.startswith(prefix)]
    return _FAMILIES[max(matches, key=len)] if matches else None


def stub_vector(text: str, dimensions: int, *, normalize: bool = True) -> list[float]:
    """The stand-in's embedding of `text`: values in [-1, 1] from SHA-256 blocks of the text, scaled to
    unit length when `normalize`, each rounded to a float32."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(seed + block.to_bytes(4, "big")).digest()
        values.extend(value / 32767.5 - 1 for value in struct.unpack(">16H", digest))
        block += 1
    del values[dimensions:]
    if normalize:
        norm = math.sqrt(sum(value * value for value in values)) or 1.0
        values = [value / norm for value in values]
    return [struct.unpack("<f", struct.pack("<f", value))[0] for value in values]


def word_count(text: str) -> int:
    """The stand-in's token count of one text: its words."""
    return len(text.split())


def plan_embedding(model_id: str, body: Mapping[str, Any]) -> EmbeddingReply:
    """Check an InvokeModel body for `model_id` and build the answer; a body Bedrock would refuse (or a
    model that is no embedding model) raises a 400 `StubError`."""
    family = embedding_family(model_id)
    if family is None:
        raise _invalid(
            f"the stand-in answers InvokeModel only for embedding models, not {model_id!r}; "
            "text models stream (invoke-with-response-stream)"
        )
    if extra := sorted(set(body) - _KEYS[family]):
        raise _invalid(f"Malformed input request: #: extraneous key [{extra[0][:64]}] is not permitted")
    if family in (TITAN_V1, TITAN_V2):
        texts, document = _titan(family, body)
    else:
        texts, document = _cohere(family, body)
    headers = {
        "Content-Type": "application/json",
        "X-Amzn-Bedrock-Input-Token-Count": str(sum(word_count(text) for text in texts)),
        "X-Amzn-Bedrock-Invocation-Latency": "1",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return EmbeddingReply(payload, headers, _directives(texts))


def _titan(family: str, body: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    text = body.get("inputText")
    if not isinstance(text, str):
        raise _invalid("Malformed input request: #: required key [inputText] not found or not a string")
    if not 1 <= len(text) <= TITAN_MAX_CHARS:
        raise _invalid(
            f"Malformed input request: #/inputText: 1 to {TITAN_MAX_CHARS} characters, not {len(text)}"
        )
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS[family])  # G1 has no such key (refused above)
    if family == TITAN_V2 and (not _is_int(dimensions) or dimensions not in TITAN_V2_DIMENSIONS):
        raise _invalid(f"Malformed input request: #/dimensions: {dimensions!r} is not a valid enum value")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise _invalid("Malformed input request: #/normalize: expected type: Boolean")
    types = _type_list(body.get("embeddingTypes", ["float"]), ("float", "binary"), "embeddingTypes")
    vector = stub_vector(text, dimensions, normalize=normalize)
    document: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": word_count(text)}
    if family == TITAN_V2:
        by_type: dict[str, Any] = {"float": vector} if "float" in types else {}
        if "binary" in types:
            by_type["binary"] = [1 if value > 0 else 0 for value in vector]
        document["embeddingsByType"] = by_type
    return [text], document


def _cohere(family: str, body: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    input_types = _COHERE_INPUT_TYPES + (("image",) if family == COHERE_V3 else ())
    if body.get("input_type") not in input_types:
        raise _invalid("Malformed input request: #: required key [input_type] not found or not a valid value")
    if "images" in body or "inputs" in body:
        raise _invalid("the stand-in does not embed images; send texts")
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise _invalid("Malformed input request: #: required key [texts] not found or not a list of strings")
    if len(texts) > COHERE_MAX_TEXTS:
        raise _invalid(f"Malformed input request: #/texts: expected maximum item count: {COHERE_MAX_TEXTS}")
    if family == COHERE_V3 and any(len(text) > COHERE_V3_MAX_CHARS for text in texts):
        raise _invalid(
            f"Malformed input request: #/texts: a text is longer than {COHERE_V3_MAX_CHARS} characters"
        )
    truncations = ("NONE", "START", "END") if family == COHERE_V3 else ("NONE", "LEFT", "RIGHT")
    if body.get("truncate", "NONE") not in truncations:
        raise _invalid("Malformed input request: #/truncate: not a valid enum value")
    dimensions = DEFAULT_DIMENSIONS[family]
    if family == COHERE_V4:
        dimensions = body.get("output_dimension", dimensions)
        if not _is_int(dimensions) or dimensions not in COHERE_V4_DIMENSIONS:
            raise _invalid("Malformed input request: #/output_dimension: not a valid enum value")
        max_tokens = body.get("max_tokens", COHERE_V4_MAX_TOKENS)
        if not _is_int(max_tokens) or not 1 <= max_tokens <= COHERE_V4_MAX_TOKENS:
            raise _invalid("Malformed input request: #/max_tokens: out of range")
    by_type = "embedding_types" in body or family == COHERE_V4
    types = _type_list(body.get("embedding_types", ["float"]), _COHERE_EMBEDDING_TYPES, "embedding_types")
    if types != ["float"]:
        raise _invalid('the stand-in answers float embeddings only (embedding_types ["float"])')
    vectors = [stub_vector(text, dimensions) for text in texts]
    document = {
        "id": str(uuid.uuid4()),
        "embeddings": {"float": vectors} if by_type else vectors,
        "response_type": "embeddings_by_type" if by_type else "embeddings_floats",
        "texts": texts,
    }
    return texts, document


def _type_list(value: object, allowed: tuple[str, ...], name: str) -> list[str]:
    if not isinstance(value, list) or not value or any(item not in allowed for item in value):
        raise _invalid(
            f"Malformed input request: #/{name}: expected a non-empty list of {', '.join(allowed)}"
        )
    return list(dict.fromkeys(value))


def _directives(texts: list[str]) -> Directives:
    """The first text's directives that ask for an error or a hang (none when no text does)."""
    for text in texts:
        if DIRECTIVE_PREFIX not in text:
            continue
        try:
            found, _ = parse_directives(text)
        except DirectiveError as exc:
            raise _invalid(str(exc)) from None
        if pre_stream_error(found) is not None or found.hang_ms:
            return found
    return Directives()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str) -> StubError:
    return StubError(status=400, code="ValidationException", message=message)
