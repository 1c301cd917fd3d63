"""The embedding families' bodies and answers (`bedrock_handler.embedding_formats`): which family an id is
(agreeing with the stand-in's own table), the InvokeModel bodies per family, and reading each documented
answer shape, refusing the rest."""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_handler import embedding_formats as formats
from bedrock_handler.embedding_formats import (
    COHERE_V3,
    COHERE_V4,
    TITAN_V1,
    TITAN_V2,
    MalformedEmbeddingError,
    UnknownEmbeddingModelError,
)

from emulator.stub_embeddings import embedding_family

DOCUMENTED = [
    ("amazon.titan-embed-text-v1", TITAN_V1),
    ("amazon.titan-embed-text-v2:0", TITAN_V2),
    ("cohere.embed-english-v3", COHERE_V3),
    ("cohere.embed-multilingual-v3", COHERE_V3),
    ("cohere.embed-v4:0", COHERE_V4),
]


@pytest.mark.parametrize(("model_id", "family"), DOCUMENTED)
def test_families_of_the_documented_ids_agree_with_the_stand_in(model_id: str, family: str) -> None:
    assert formats.model_family(model_id) == family == embedding_family(model_id)


@pytest.mark.parametrize(
    ("model_id", "family"), [("us.cohere.embed-v4:0", COHERE_V4), ("eu.cohere.embed-v4:0", COHERE_V4)]
)
def test_a_geography_prefix_is_skipped(model_id: str, family: str) -> None:
    assert formats.model_family(model_id) == family


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.titan-embed-image-v1",
        "amazon.nova-lite-v1:0",
        "cohere.command-r-v1:0",
        "cohere.embed-v5:0",
        "",
        "us.",
    ],
)
def test_unknown_ids_are_refused(model_id: str) -> None:
    with pytest.raises(UnknownEmbeddingModelError, match="no embeddings request format"):
        formats.model_family(model_id)
    assert embedding_family(model_id) is None


def test_titan_bodies_one_per_text() -> None:
    assert formats.request_bodies(TITAN_V2, ["a", "b"], dimensions=None, input_type=None) == [
        {"inputText": "a", "normalize": True},
        {"inputText": "b", "normalize": True},
    ]
    assert formats.request_bodies(TITAN_V2, ["a"], dimensions=256, input_type=None) == [
        {"inputText": "a", "dimensions": 256, "normalize": True}
    ]
    assert formats.request_bodies(TITAN_V1, ["a"], dimensions=None, input_type=None) == [{"inputText": "a"}]


def test_cohere_bodies_hold_96_texts_each() -> None:
    texts = [str(i) for i in range(200)]
    bodies = formats.request_bodies(COHERE_V3, texts, dimensions=None, input_type=None)
    assert [len(body["texts"]) for body in bodies] == [96, 96, 8]
    assert [text for body in bodies for text in body["texts"]] == texts
    assert all(body["input_type"] == "search_document" for body in bodies)
    assert all(body["embedding_types"] == ["float"] for body in bodies)
    assert all(set(body) == {"texts", "input_type", "embedding_types"} for body in bodies)


def test_cohere_v4_body_carries_the_output_dimension_and_input_type() -> None:
    [body] = formats.request_bodies(COHERE_V4, ["a"], dimensions=512, input_type="search_query")
    assert body == {
        "texts": ["a"],
        "input_type": "search_query",
        "embedding_types": ["float"],
        "output_dimension": 512,
    }


def test_dimension_choices() -> None:
    assert formats.DIMENSIONS[TITAN_V2] == (256, 512, 1024)
    assert formats.DIMENSIONS[COHERE_V4] == (256, 512, 1024, 1536)
    assert [formats.chooses_dimensions(f) for f in (TITAN_V1, TITAN_V2, COHERE_V3, COHERE_V4)] == [
        False,
        True,
        False,
        True,
    ]


READABLE: list[tuple[str, dict[str, Any], int | None, tuple[list[list[float]], int]]] = [
    (
        TITAN_V2,
        {"embedding": [0.5, -0.5], "inputTextTokenCount": 3, "embeddingsByType": {}},
        9,
        ([[0.5, -0.5]], 3),
    ),
    (TITAN_V1, {"embedding": [1, 2]}, 4, ([[1, 2]], 4)),  # the header when the body has no count
    (TITAN_V1, {"embedding": [1.0]}, None, ([[1.0]], 0)),
    (COHERE_V3, {"embeddings": [[0.1], [0.2]], "response_type": "embeddings_floats"}, 5, ([[0.1], [0.2]], 5)),
    (
        COHERE_V3,
        {"embeddings": {"float": [[0.1]]}, "response_type": "embeddings_by_type"},
        None,
        ([[0.1]], 0),
    ),
    (COHERE_V4, {"embeddings": {"float": [[0.3], [0.4]], "int8": [[1], [2]]}}, 7, ([[0.3], [0.4]], 7)),
]


@pytest.mark.parametrize(("family", "document", "header", "answer"), READABLE)
def test_documented_answers_are_read(
    family: str, document: dict[str, Any], header: int | None, answer: tuple[list[list[float]], int]
) -> None:
    assert formats.read_response(family, document, header, expected=len(answer[0])) == answer


UNREADABLE: list[tuple[str, dict[str, Any], int]] = [
    (TITAN_V2, {}, 1),
    (TITAN_V2, {"embedding": None}, 1),
    (TITAN_V2, {"embedding": []}, 1),
    (TITAN_V2, {"embedding": [True]}, 1),
    (TITAN_V2, {"embedding": [float("inf")]}, 1),
    (TITAN_V2, {"embedding": "0.1,0.2"}, 1),
    (TITAN_V2, {"embedding": [0.1], "inputTextTokenCount": "3"}, 1),
    (TITAN_V2, {"embedding": [0.1], "inputTextTokenCount": 1.5}, 1),
    (COHERE_V3, {"embeddings": [[0.1]]}, 2),
    (COHERE_V3, {"embeddings": [[0.1], []]}, 2),
    (COHERE_V3, {"embeddings": {"int8": [[1]]}}, 1),
    (COHERE_V3, {"embeddings": "x"}, 1),
    (COHERE_V4, {}, 1),
]


@pytest.mark.parametrize(("family", "document", "expected"), UNREADABLE)
def test_other_answers_are_refused(family: str, document: dict[str, Any], expected: int) -> None:
    with pytest.raises(MalformedEmbeddingError):
        formats.read_response(family, document, None, expected=expected)
