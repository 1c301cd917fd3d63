"""`client.embeddings.create` with the real `openai` SDK through the real emulator, runtime and handler, and
the in-process stand-in behind it: floats, the SDK's default base64 (decoded by the SDK), explicit base64,
sizes, batches, Cohere's input_type, the models list, refusals, upstream errors, the log, the 404 when no
embedding model is deployed, the Function URL's AWS_IAM auth in front of the endpoint, and the docs'
example."""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from emulator.bedrock_stub import BedrockStub
from emulator.stub_embeddings import stub_vector
from stream_client.openai_auth import iam_http_client
from tests.openai.conftest import NOVA, Served, env_args
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-multilingual-v3"
COHERE_V4 = "cohere.embed-v4:0"
EMBEDDING_MODEL_IDS = f"{TITAN},{COHERE},{COHERE_V4}"
SECRET = "wombat-secret-text"


def embedding_settings(stand_in: BedrockStub) -> dict[str, object]:
    return {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,  # --env wins over the emulator's own stand-in
        "EMBEDDING_MODEL_IDS": EMBEDDING_MODEL_IDS,
        "BEDROCK_MAX_ATTEMPTS": 1,
    }


@pytest.fixture(scope="module")
def embedding(stand_in: BedrockStub) -> Iterator[Served]:
    """The function with three embedding models and no Bedrock retries."""
    with EmulatorProcess(env_args(embedding_settings(stand_in))) as emulator:
        yield Served(emulator, stand_in)


def plain_client(served: Served) -> openai.OpenAI:
    """No strict response validation: a base64 reply is a string where the SDK's type says list[float], and
    strict validation runs before the SDK decodes it (so strict clients must ask for float, against OpenAI
    too)."""
    return openai.OpenAI(base_url=f"{served.url}v1", api_key="unused", max_retries=0, timeout=30)


def test_floats(embedding: Served) -> None:
    before = len(embedding.bedrock_calls())
    result = embedding.client().embeddings.create(
        model=TITAN, input="four words to embed", encoding_format="float"
    )
    assert (result.object, result.model) == ("list", TITAN)
    [item] = result.data
    assert (item.object, item.index, item.embedding) == (
        "embedding",
        0,
        stub_vector("four words to embed", 1024),
    )
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (4, 4)
    [sent] = embedding.bedrock_calls()[before:]
    assert (sent.operation, sent.model_id, sent.body) == (
        "invoke",
        TITAN,
        {"inputText": "four words to embed", "normalize": True},
    )


def test_the_sdk_default_is_base64_which_it_decodes_exactly(embedding: Served) -> None:
    texts = ["first text", "second text", "third"]
    raw = plain_client(embedding).embeddings.with_raw_response.create(model=COHERE, input=texts)
    wire = raw.http_response.json()
    assert all(isinstance(item["embedding"], str) for item in wire["data"])  # the SDK asked for base64
    result = raw.parse()
    assert [item.embedding for item in result.data] == [stub_vector(text, 1024) for text in texts]
    assert [item.index for item in result.data] == [0, 1, 2]
    assert result.usage.prompt_tokens == 5
    assert raw.http_response.headers["x-request-id"] == raw.request_id


def test_explicit_base64_is_left_encoded_by_the_sdk(embedding: Served) -> None:
    result = plain_client(embedding).embeddings.create(
        model=COHERE_V4, input="packed", encoding_format="base64"
    )
    encoded = result.data[0].embedding
    assert isinstance(encoded, str)
    assert array.array("f", base64.b64decode(encoded)).tolist() == stub_vector("packed", 1536)


@pytest.mark.parametrize(("model", "size"), [(TITAN, 256), (TITAN, 512), (COHERE_V4, 256), (COHERE_V4, 1024)])
def test_dimensions(embedding: Served, model: str, size: int) -> None:
    result = embedding.client().embeddings.create(
        model=model, input="sized text", dimensions=size, encoding_format="float"
    )
    assert result.data[0].embedding == stub_vector("sized text", size)


def test_titan_calls_once_per_input_and_cohere_once_per_request(embedding: Served) -> None:
    texts = [f"input {i}" for i in range(5)]
    client = plain_client(embedding)
    before = len(embedding.bedrock_calls())
    titan = client.embeddings.create(model=TITAN, input=texts)
    middle = len(embedding.bedrock_calls())
    cohere = client.embeddings.create(model=COHERE, input=texts)
    assert middle - before == 5 and len(embedding.bedrock_calls()) - middle == 1
    assert [i.embedding for i in titan.data] == [stub_vector(t, 1024) for t in texts]
    assert [i.embedding for i in cohere.data] == [stub_vector(t, 1024) for t in texts]


def test_cohere_input_type_through_extra_body(embedding: Served) -> None:
    client = plain_client(embedding)
    client.embeddings.create(model=COHERE_V4, input="find me", extra_body={"input_type": "search_query"})
    assert embedding.bedrock_calls()[-1].body["input_type"] == "search_query"
    client.embeddings.create(model=COHERE_V4, input="store me")
    assert embedding.bedrock_calls()[-1].body["input_type"] == "search_document"


def test_the_async_client(embedding: Served) -> None:
    async def run() -> list[float]:
        async with openai.AsyncOpenAI(base_url=f"{embedding.url}v1", api_key="x", max_retries=0) as client:
            result = await client.embeddings.create(model=TITAN, input="async text")
            return result.data[0].embedding

    assert asyncio.run(run()) == stub_vector("async text", 1024)


def test_the_models_list_holds_the_embedding_models(embedding: Served) -> None:
    models = {model.id: model.owned_by for model in embedding.client().models.list()}
    assert {TITAN: "amazon", COHERE: "cohere", COHERE_V4: "cohere"}.items() <= models.items()
    assert NOVA in models
    assert embedding.client().models.retrieve(COHERE_V4).owned_by == "cohere"


def test_chat_is_unchanged_beside_embeddings(embedding: Served) -> None:
    reply = embedding.client().chat.completions.create(
        model=NOVA, messages=[{"role": "user", "content": "hello @stub:tokens=2"}]
    )
    assert reply.choices[0].finish_reason == "stop"
    with pytest.raises(openai.NotFoundError):  # an embedding model is no chat model
        embedding.client().chat.completions.create(model=TITAN, messages=[{"role": "user", "content": "x"}])


def test_the_log_line_has_model_tokens_and_caller_never_the_text(embedding: Served) -> None:
    raw = plain_client(embedding).embeddings.with_raw_response.create(
        model=COHERE, input=[f"{SECRET} one two", "three"], user="team-embeddings"
    )
    line = embedding.invocation(raw.request_id or "")
    assert (line["format"], line["status"], line["modelId"]) == ("openai-embeddings", 200, COHERE)
    assert (line["inputTokens"], line["caller"]) == (4, "team-embeddings")
    assert SECRET not in embedding.emulator.log()


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"model": TITAN, "input": ""}, "input", "must not be empty"),
    ({"model": TITAN, "input": []}, "input", "non-empty list"),
    ({"model": TITAN, "input": [1, 2, 3]}, "input", "token arrays"),
    ({"model": COHERE, "input": ["x"] * 97}, "input", "96"),
    ({"model": TITAN, "input": "x", "dimensions": 1536}, "dimensions", "256, 512, 1024"),
    ({"model": COHERE, "input": "x", "dimensions": 512}, "dimensions", "1024"),
    ({"model": TITAN, "input": "x", "extra_body": {"input_type": "search_query"}}, "input_type", "Cohere"),
    ({"model": TITAN, "input": "x", "extra_body": {"normalize": False}}, "normalize", "unrecognized"),
]


@pytest.mark.parametrize(("arguments", "param", "fragment"), REFUSED)
def test_refusals_are_bad_request_and_never_reach_bedrock(
    embedding: Served, arguments: dict[str, Any], param: str, fragment: str
) -> None:
    before = len(embedding.bedrock_calls())
    with pytest.raises(openai.BadRequestError) as raised:
        embedding.client().embeddings.create(**arguments)
    error = raised.value
    assert (error.status_code, error.type, error.code, error.param) == (
        400,
        "invalid_request_error",
        "invalid_request",
        param,
    )
    assert fragment in error.message
    assert len(embedding.bedrock_calls()) == before


def test_an_unlisted_model_is_not_found(embedding: Served) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        embedding.client().embeddings.create(model="text-embedding-3-small", input="x")
    assert (raised.value.code, raised.value.param) == ("model_not_found", "model")


def test_a_throttle_is_a_rate_limit_error_the_sdk_does_not_retry(embedding: Served) -> None:
    before = len(embedding.bedrock_calls())
    client = embedding.client(max_retries=2)
    with pytest.raises(openai.RateLimitError) as raised:
        client.embeddings.create(model=COHERE, input=["fine", "busy @stub:throttle"])
    assert raised.value.code == "throttled"
    assert raised.value.response.headers["retry-after"] == "2"
    assert len(embedding.bedrock_calls()) - before == 1  # x-should-retry: false; BEDROCK_MAX_ATTEMPTS=1


def test_a_missing_model_at_bedrock_is_a_server_error(embedding: Served) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        embedding.client().embeddings.create(model=TITAN, input="gone @stub:not-found")
    assert (raised.value.status_code, raised.value.code) == (502, "bedrock_model_not_found")


def test_without_embedding_models_the_endpoint_is_not_found(served: Served) -> None:
    before = len(served.bedrock_calls())
    with pytest.raises(openai.NotFoundError) as raised:
        served.client().embeddings.create(model=TITAN, input="x")
    assert (raised.value.status_code, raised.value.type, raised.value.code) == (
        404,
        "invalid_request_error",
        "model_not_found",
    )
    assert "not enabled" in raised.value.message
    assert len(served.bedrock_calls()) == before
    assert TITAN not in [model.id for model in served.client().models.list()]


# --- the Function URL's AWS_IAM auth covers the endpoint -------------------------------------------------


@pytest.fixture(scope="module")
def iam_url(stand_in: BedrockStub) -> Iterator[str]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(["--auth", "AWS_IAM", *env_args(embedding_settings(stand_in))], env=env) as emulator:
        yield emulator.url


@pytest.fixture
def signing_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)


@pytest.mark.slow
@pytest.mark.usefixtures("signing_env")
def test_aws_iam_guards_embeddings(iam_url: str, stand_in: BedrockStub) -> None:
    before = len(stand_in.requests)
    unsigned = openai.OpenAI(base_url=iam_url + "v1", api_key="x", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        unsigned.embeddings.create(model=TITAN, input="unsigned")
    assert len(stand_in.requests) == before
    signed = openai.OpenAI(
        base_url=iam_url + "v1",
        api_key="unused",
        http_client=iam_http_client(),
        max_retries=0,
        _strict_response_validation=True,
    )
    result = signed.embeddings.create(model=TITAN, input="signed", encoding_format="float")
    assert result.data[0].embedding == stub_vector("signed", 1024)
    assert stand_in.requests[-1].body == {"inputText": "signed", "normalize": True}


def test_the_pages_example_runs(embedding: Served) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "openai-api.md").read_text(encoding="utf-8")
    section = page.split("\n## Embeddings\n", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'base_url="http://127.0.0.1:3000/v1"' in example
    code = example.replace("http://127.0.0.1:3000/v1", f"{embedding.url}v1")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/openai-api.md", "exec"), {})  # the page's own code, as a reader pastes it
    assert printed.getvalue() == "[1024, 1024] 4\n"
