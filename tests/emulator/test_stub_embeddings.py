"""The stand-in's InvokeModel for the embedding models, through real boto3: each family's documented answer
(sizes, token counts, response types), deterministic float32 vectors, the refusals Bedrock would send,
`@stub:` errors, and every other model refused on /invoke."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.bedrock_stub import BedrockStub
from emulator.stub_embeddings import embedding_family, stub_vector
from tests.support.bedrock_client import bedrock_client

TITAN_V1 = "amazon.titan-embed-text-v1"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_EN = "cohere.embed-english-v3"
COHERE_MULTI = "cohere.embed-multilingual-v3"
COHERE_V4 = "cohere.embed-v4:0"


@pytest.fixture(scope="module")
def client(stub: BedrockStub) -> Any:
    return bedrock_client(stub.url)


def invoke(client: Any, model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    response = client.invoke_model(
        modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    assert response["contentType"] == "application/json"
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def refusal(client: Any, model_id: str, body: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as info:
        invoke(client, model_id, body)
    return info.value


def test_titan_v2_answers_one_normalised_vector_with_its_word_count(client: Any) -> None:
    document, headers = invoke(client, TITAN_V2, {"inputText": "three little words"})
    assert set(document) == {"embedding", "inputTextTokenCount", "embeddingsByType"}
    assert document["embedding"] == stub_vector("three little words", 1024)
    assert document["embeddingsByType"] == {"float": document["embedding"]}
    assert document["inputTextTokenCount"] == 3
    assert headers["x-amzn-bedrock-input-token-count"] == "3"
    assert math.isclose(math.fsum(v * v for v in document["embedding"]), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize("size", [256, 512, 1024])
def test_titan_v2_dimensions(client: Any, size: int) -> None:
    document, _ = invoke(client, TITAN_V2, {"inputText": "sized", "dimensions": size, "normalize": True})
    assert len(document["embedding"]) == size
    assert document["embedding"] == stub_vector("sized", size)


def test_titan_v2_without_normalising_and_with_binary(client: Any) -> None:
    body = {"inputText": "raw", "normalize": False, "embeddingTypes": ["float", "binary"]}
    document, _ = invoke(client, TITAN_V2, body)
    raw = stub_vector("raw", 1024, normalize=False)
    assert document["embedding"] == raw != stub_vector("raw", 1024)
    assert document["embeddingsByType"]["binary"] == [1 if v > 0 else 0 for v in raw]


def test_titan_g1_takes_input_text_only_and_answers_1536(client: Any) -> None:
    document, _ = invoke(client, TITAN_V1, {"inputText": "old model"})
    assert set(document) == {"embedding", "inputTextTokenCount"}
    assert len(document["embedding"]) == 1536
    assert "dimensions" in str(refusal(client, TITAN_V1, {"inputText": "x", "dimensions": 256}))


@pytest.mark.parametrize("model_id", [COHERE_EN, COHERE_MULTI])
def test_cohere_v3_floats_or_by_type(client: Any, model_id: str) -> None:
    texts = ["first text", "second one here", "x"]
    plain, headers = invoke(client, model_id, {"texts": texts, "input_type": "search_document"})
    assert plain["response_type"] == "embeddings_floats"
    assert plain["embeddings"] == [stub_vector(text, 1024) for text in texts]
    assert plain["texts"] == texts
    assert headers["x-amzn-bedrock-input-token-count"] == "6"
    assert "inputTextTokenCount" not in plain
    typed, _ = invoke(
        client,
        model_id,
        {"texts": texts, "input_type": "search_query", "embedding_types": ["float"], "truncate": "END"},
    )
    assert typed["response_type"] == "embeddings_by_type"
    assert typed["embeddings"] == {"float": plain["embeddings"]}


@pytest.mark.parametrize(("size", "expected"), [(None, 1536), (256, 256), (512, 512), (1024, 1024)])
def test_cohere_v4_always_by_type_at_the_output_dimension(
    client: Any, size: int | None, expected: int
) -> None:
    body: dict[str, Any] = {"texts": ["a", "b"], "input_type": "clustering"}
    if size is not None:
        body["output_dimension"] = size
    document, _ = invoke(client, COHERE_V4, body)
    assert document["response_type"] == "embeddings_by_type"
    assert [len(v) for v in document["embeddings"]["float"]] == [expected, expected]
    assert document["embeddings"]["float"][0] == stub_vector("a", expected)


def test_vectors_are_deterministic_float32_and_differ_per_text() -> None:
    first = stub_vector("same text", 1024)
    assert first == stub_vector("same text", 1024)
    assert first != stub_vector("same text.", 1024)
    assert all(struct.unpack("<f", struct.pack("<f", v))[0] == v for v in first)
    assert all(-1 <= v <= 1 for v in first)


def test_96_texts_pass_and_97_are_refused(client: Any) -> None:
    texts = [f"text {i}" for i in range(96)]
    document, _ = invoke(client, COHERE_EN, {"texts": texts, "input_type": "classification"})
    assert len(document["embeddings"]) == 96
    error = refusal(client, COHERE_EN, {"texts": [*texts, "one more"], "input_type": "classification"})
    assert error.response["Error"]["Code"] == "ValidationException"
    assert "96" in error.response["Error"]["Message"]


REFUSED = [
    (TITAN_V2, {"inputText": "x", "extra": 1}, "extraneous key [extra]"),
    (TITAN_V2, {}, "inputText"),
    (TITAN_V2, {"inputText": ""}, "inputText"),
    (TITAN_V2, {"inputText": "x" * 50_001}, "inputText"),
    (TITAN_V2, {"inputText": "x", "dimensions": 1536}, "dimensions"),
    (TITAN_V2, {"inputText": "x", "dimensions": "256"}, "dimensions"),
    (TITAN_V2, {"inputText": "x", "normalize": "yes"}, "normalize"),
    (TITAN_V2, {"inputText": "x", "embeddingTypes": ["int8"]}, "embeddingTypes"),
    (COHERE_EN, {"texts": ["x"]}, "input_type"),
    (COHERE_EN, {"texts": ["x"], "input_type": "query"}, "input_type"),
    (COHERE_EN, {"input_type": "search_query"}, "texts"),
    (COHERE_EN, {"texts": "x", "input_type": "search_query"}, "texts"),
    (COHERE_EN, {"texts": ["x" * 2049], "input_type": "search_query"}, "2048"),
    (COHERE_EN, {"texts": ["x"], "input_type": "search_query", "output_dimension": 256}, "output_dimension"),
    (COHERE_EN, {"texts": ["x"], "input_type": "search_query", "truncate": "LEFT"}, "truncate"),
    (COHERE_EN, {"texts": ["x"], "input_type": "search_query", "embedding_types": []}, "embedding_types"),
    (COHERE_V4, {"texts": ["x"], "input_type": "search_query", "output_dimension": 2048}, "output_dimension"),
    (COHERE_V4, {"texts": ["x"], "input_type": "search_query", "truncate": "END"}, "truncate"),
    (COHERE_V4, {"texts": ["x"], "input_type": "search_query", "max_tokens": 0}, "max_tokens"),
    (COHERE_V4, {"texts": ["x"], "input_type": "image"}, "input_type"),
    (
        COHERE_V4,
        {"texts": ["x"], "input_type": "search_query", "dimensions": 256},
        "extraneous key [dimensions]",
    ),
    (COHERE_V4, {"images": ["data:image/png;base64,AA=="], "input_type": "search_query"}, "images"),
    (COHERE_V4, {"texts": ["x"], "input_type": "search_query", "embedding_types": ["int8"]}, "float"),
]


@pytest.mark.parametrize(("model_id", "body", "named"), REFUSED)
def test_bodies_bedrock_would_refuse_are_400(
    client: Any, model_id: str, body: dict[str, Any], named: str
) -> None:
    error = refusal(client, model_id, body)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "ValidationException"
    assert named in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    "model_id",
    ["amazon.nova-lite-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "cohere.command-r-v1:0"],
)
def test_text_models_on_invoke_are_refused(client: Any, model_id: str) -> None:
    error = refusal(client, model_id, {"inputText": "x"})
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "only for embedding models" in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("directive", "status", "code"),
    [
        ("@stub:throttle", 429, "ThrottlingException"),
        ("@stub:access-denied", 403, "AccessDeniedException"),
        ("@stub:not-found", 404, "ResourceNotFoundException"),
        ("@stub:unavailable", 503, "ServiceUnavailableException"),
    ],
)
def test_error_directives_in_any_text(client: Any, directive: str, status: int, code: str) -> None:
    error = refusal(client, COHERE_EN, {"texts": ["fine", f"then {directive}"], "input_type": "search_query"})
    assert (error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]) == (
        status,
        code,
    )


def test_a_bad_directive_is_refused(client: Any) -> None:
    error = refusal(client, TITAN_V2, {"inputText": "x @stub:nonsense"})
    assert "nonsense" in error.response["Error"]["Message"]


def test_other_directives_are_embedded_as_text(client: Any) -> None:
    document, _ = invoke(client, TITAN_V2, {"inputText": "hi @stub:tokens=3"})
    assert document["embedding"] == stub_vector("hi @stub:tokens=3", 1024)


def test_the_requests_are_recorded_as_invoke(client: Any, stub: BedrockStub) -> None:
    invoke(client, COHERE_V4, {"texts": ["recorded"], "input_type": "search_document"})
    last = stub.requests[-1]
    assert (last.operation, last.model_id, last.body["texts"]) == ("invoke", COHERE_V4, ["recorded"])


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        (TITAN_V1, "titan-v1"),
        (TITAN_V2, "titan-v2"),
        (COHERE_EN, "cohere-v3"),
        (COHERE_MULTI, "cohere-v3"),
        (COHERE_V4, "cohere-v4"),
        ("amazon.titan-embed-image-v1", None),
        ("amazon.titan-text-express-v1", None),
        ("cohere.command-text-v14", None),
    ],
)
def test_embedding_families(model_id: str, family: str | None) -> None:
    assert embedding_family(model_id) == family
