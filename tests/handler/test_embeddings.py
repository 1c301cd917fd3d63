"""`POST …/v1/embeddings` inside one invocation (`invocation.respond`): real botocore against the real
stand-in (a scripted model only for answers the stand-in never sends), the openai SDK's pydantic model as
the judge of every reply, the Bedrock bodies sent per family, refusals, upstream errors, time, the log."""

from __future__ import annotations

import array
import base64
import io
import json
import logging
import struct
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from bedrock_handler import routes
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import UpstreamError
from bedrock_handler.invocation import respond
from bedrock_handler.model import BedrockModelStream
from handler_support import FakeContext, base_env, load_event
from openai.types import CreateEmbeddingResponse, Model

from emulator.bedrock_stub import BedrockStub, StubRequest
from emulator.stub_embeddings import stub_vector

TITAN = "amazon.titan-embed-text-v2:0"
TITAN_G1 = "amazon.titan-embed-text-v1"
COHERE = "cohere.embed-english-v3"
COHERE_V4 = "cohere.embed-v4:0"
ALL = f"{TITAN},{COHERE},{COHERE_V4},{TITAN_G1}"
REQUEST_ID = FakeContext().aws_request_id
MARKER = "okapi-marker-text"
Build = Callable[..., Any]


def event(body: Any, *, method: str = "POST", path: str = "/v1/embeddings", **headers: str) -> Any:
    result = load_event(
        rawPath=path,
        queryStringParameters=None,
        headers={"content-type": "application/json", **headers},
        body=body if isinstance(body, str | dict) else json.dumps(body),
    )
    result["requestContext"]["http"]["method"] = method
    return result


def call(
    make_model: Build, body: Any, *, context: FakeContext | None = None, env: str | None = ALL, **kwargs: Any
) -> Any:
    config, model = make_model(**({"EMBEDDING_MODEL_IDS": env} if env is not None else {}))
    return respond(event(body, **kwargs), context or FakeContext(), config=config, model=model)


def reply(response: Any) -> CreateEmbeddingResponse:
    assert response.status_code == 200, "".join(response.body)
    assert response.headers == {"content-type": "application/json", "x-request-id": REQUEST_ID}
    return CreateEmbeddingResponse.model_validate(json.loads("".join(response.body)), strict=True)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, "".join(response.body)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == REQUEST_ID
    document = json.loads("".join(response.body))
    assert set(document) == {"error"} and set(document["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = document["error"]
    return error


def new_calls(stub: BedrockStub, before: int) -> list[StubRequest]:
    return stub.requests[before:]


# --- replies --------------------------------------------------------------------------------------------


def test_one_string_as_floats(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    result = reply(
        call(make_model, {"model": TITAN, "input": "four words of text", "encoding_format": "float"})
    )
    assert result.object == "list" and result.model == TITAN
    [item] = result.data
    assert (item.object, item.index) == ("embedding", 0)
    assert item.embedding == stub_vector("four words of text", 1024)
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (4, 4)
    [sent] = new_calls(stub, before)
    assert (sent.operation, sent.model_id) == ("invoke", TITAN)
    assert sent.body == {"inputText": "four words of text", "normalize": True}


def test_encoding_format_defaults_to_float(make_model: Build) -> None:
    result = reply(call(make_model, {"model": TITAN, "input": "no format"}))
    assert result.data[0].embedding == stub_vector("no format", 1024)


def test_base64_is_little_endian_float32_as_the_sdk_decodes_it(make_model: Build) -> None:
    response = call(make_model, {"model": COHERE, "input": ["first", "second"], "encoding_format": "base64"})
    assert response.status_code == 200
    data = json.loads("".join(response.body))["data"]
    for item, text in zip(data, ["first", "second"], strict=True):
        raw = base64.b64decode(item["embedding"], validate=True)
        assert len(raw) == 4 * 1024
        assert list(struct.unpack("<1024f", raw)) == stub_vector(text, 1024)
        assert array.array("f", raw).tolist() == stub_vector(text, 1024)  # the SDK's own decoding


def test_titan_takes_one_call_per_input_in_order(make_model: Build, stub: BedrockStub) -> None:
    texts = ["alpha", "beta gamma", "delta epsilon zeta"]
    before = len(stub.requests)
    result = reply(call(make_model, {"model": TITAN, "input": texts, "dimensions": 512}))
    assert [item.index for item in result.data] == [0, 1, 2]
    assert [item.embedding for item in result.data] == [stub_vector(t, 512) for t in texts]
    assert result.usage.prompt_tokens == 6  # Titan's inputTextTokenCount, summed
    sent = new_calls(stub, before)
    assert [c.body for c in sent] == [{"inputText": t, "dimensions": 512, "normalize": True} for t in texts]


def test_cohere_takes_every_input_in_one_call(make_model: Build, stub: BedrockStub) -> None:
    texts = [f"text number {i}" for i in range(96)]
    before = len(stub.requests)
    result = reply(call(make_model, {"model": COHERE, "input": texts, "user": "team-a"}))
    assert [item.embedding for item in result.data] == [stub_vector(t, 1024) for t in texts]
    assert result.usage.prompt_tokens == 3 * 96  # from the input-token header
    [sent] = new_calls(stub, before)
    assert sent.body == {"texts": texts, "input_type": "search_document", "embedding_types": ["float"]}


@pytest.mark.parametrize("size", [256, 512, 1024, 1536])
def test_cohere_v4_dimensions_become_output_dimension(
    make_model: Build, stub: BedrockStub, size: int
) -> None:
    before = len(stub.requests)
    result = reply(call(make_model, {"model": COHERE_V4, "input": "sized", "dimensions": size}))
    assert result.data[0].embedding == stub_vector("sized", size)
    [sent] = new_calls(stub, before)
    assert sent.body["output_dimension"] == size


def test_cohere_v4_default_size(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    result = reply(call(make_model, {"model": COHERE_V4, "input": "default"}))
    assert len(result.data[0].embedding) == 1536
    assert "output_dimension" not in new_calls(stub, before)[0].body


@pytest.mark.parametrize(("model_id", "size"), [(COHERE, 1024), (TITAN_G1, 1536)])
def test_a_fixed_size_model_accepts_only_its_size_and_sends_none(
    make_model: Build, stub: BedrockStub, model_id: str, size: int
) -> None:
    before = len(stub.requests)
    result = reply(call(make_model, {"model": model_id, "input": "fixed", "dimensions": size}))
    assert len(result.data[0].embedding) == size
    [sent] = new_calls(stub, before)
    assert "dimensions" not in sent.body and "output_dimension" not in sent.body
    error = error_of(call(make_model, {"model": model_id, "input": "x", "dimensions": 256}), 400)
    assert error["param"] == "dimensions" and str(size) in error["message"]


def test_cohere_input_type_is_passed_through(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    reply(call(make_model, {"model": COHERE_V4, "input": "a query", "input_type": "search_query"}))
    assert new_calls(stub, before)[0].body["input_type"] == "search_query"


def test_the_path_prefix_does_not_matter(make_model: Build) -> None:
    result = reply(call(make_model, {"model": TITAN, "input": "x"}, path="/prod/v1/embeddings/"))
    assert len(result.data) == 1
    assert routes.route("/stage/v1/embeddings") == (routes.Endpoint.OPENAI_EMBEDDINGS, "")


# --- the endpoint off, refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_without_embedding_models_the_endpoint_is_404(
    make_model: Build, stub: BedrockStub, method: str
) -> None:
    before = len(stub.requests)
    error = error_of(call(make_model, {"model": TITAN, "input": "x"}, env=None, method=method), 404)
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_not_found")
    assert "not enabled" in error["message"]
    assert new_calls(stub, before) == []


@pytest.mark.parametrize(
    "model_id", ["amazon.titan-embed-text-v2", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]
)
def test_a_model_not_listed_is_404(make_model: Build, model_id: str) -> None:
    error = error_of(call(make_model, {"model": model_id, "input": "x"}), 404)
    assert (error["code"], error["param"]) == ("model_not_found", "model")


def test_method_and_content_type(make_model: Build) -> None:
    response = call(make_model, {"model": TITAN, "input": "x"}, method="GET")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"
    response = call(make_model, {"model": TITAN, "input": "x"}, **{"content-type": "text/plain"})
    assert error_of(response, 415)["code"] == "unsupported_media_type"


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"input": "x"}, "model", "model"),
    ({"model": TITAN}, "input", "input"),
    ({"model": TITAN, "input": []}, "input", "non-empty"),
    ({"model": TITAN, "input": ""}, "input", "empty"),
    ({"model": TITAN, "input": ["ok", ""]}, "input", "input[1]"),
    ({"model": TITAN, "input": ["ok", 3]}, "input", "token arrays"),
    ({"model": TITAN, "input": [1, 2, 3]}, "input", "token arrays"),
    ({"model": TITAN, "input": [[1, 2], [3]]}, "input", "token arrays"),
    ({"model": TITAN, "input": {"text": "x"}}, "input", "input"),
    ({"model": COHERE, "input": ["x"] * 97}, "input", "96"),
    ({"model": TITAN, "input": ["x"] * 97}, "input", "96"),
    ({"model": TITAN, "input": "x" * 50_001}, "input", "50000"),
    ({"model": COHERE, "input": ["ok", "x" * 2049]}, "input", "input[1] exceeds this model's 2048"),
    ({"model": TITAN, "input": "x", "encoding_format": "int8"}, "encoding_format", "float or base64"),
    ({"model": TITAN, "input": "x", "dimensions": 1536}, "dimensions", "256, 512, 1024"),
    ({"model": TITAN, "input": "x", "dimensions": True}, "dimensions", "dimensions"),
    ({"model": COHERE_V4, "input": "x", "dimensions": 2048}, "dimensions", "1536"),
    ({"model": TITAN, "input": "x", "input_type": "search_query"}, "input_type", "Cohere"),
    ({"model": COHERE, "input": "x", "input_type": "image"}, "input_type", "search_document"),
    ({"model": TITAN, "input": "x", "user": 5}, "user", "user"),
    ({"model": TITAN, "input": "x", "truncate": "END"}, "truncate", "unrecognized request argument"),
    ({"model": TITAN, "input": "x", "normalize": None}, "normalize", "unrecognized request argument"),
]


@pytest.mark.parametrize(("body", "param", "named"), REFUSED)
def test_refusals_name_the_field(
    make_model: Build, stub: BedrockStub, body: dict[str, Any], param: str, named: str
) -> None:
    before = len(stub.requests)
    error = error_of(call(make_model, body), 400)
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_request",
        param,
    )
    assert named in error["message"]
    assert new_calls(stub, before) == []


def test_a_lone_surrogate_is_refused_before_bedrock(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    body = json.dumps({"model": TITAN, "input": ["fine", "bad \ud800 text"]})  # escaped as \ud800
    error = error_of(call(make_model, body), 400)
    assert (error["param"], error["message"]) == (
        "input",
        "input[1] holds a lone surrogate (no Unicode text)",
    )
    assert new_calls(stub, before) == []
    assert reply(call(make_model, {"model": TITAN, "input": "naïve café ✓"})).data[
        0
    ].embedding == stub_vector("naïve café ✓", 1024)


@pytest.mark.parametrize("body", ["", "not json", "[1]", '{"model": '])
def test_unreadable_bodies(make_model: Build, body: str) -> None:
    assert error_of(call(make_model, body), 400)["code"] == "invalid_request"


def test_a_body_over_the_limit_is_413(make_model: Build) -> None:
    config, model = make_model(EMBEDDING_MODEL_IDS=TITAN, MAX_REQUEST_BYTES="100")
    response = respond(event({"model": TITAN, "input": "x" * 200}), FakeContext(), config=config, model=model)
    assert error_of(response, 413)["code"] == "payload_too_large"


# --- Bedrock failures, time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directive", "status", "code"),
    [
        ("@stub:throttle", 429, "throttled"),
        ("@stub:access-denied", 502, "bedrock_access_denied"),
        ("@stub:not-found", 502, "bedrock_model_not_found"),
        ("@stub:unavailable", 503, "bedrock_unavailable"),
        ("@stub:model-timeout", 504, "bedrock_timeout"),
    ],
)
def test_bedrock_errors_become_statuses(make_model: Build, directive: str, status: int, code: str) -> None:
    response = call(make_model, {"model": COHERE, "input": ["fine", f"x {directive}"]})
    assert error_of(response, status)["code"] == code
    assert response.headers["x-should-retry"] == "false"
    if status == 429:
        assert response.headers["retry-after"] == "2"


def test_a_failure_after_some_titan_calls_is_still_a_status(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    response = call(make_model, {"model": TITAN, "input": ["one", "two @stub:throttle", "three"]})
    assert error_of(response, 429)["code"] == "throttled"
    assert len(new_calls(stub, before)) == 2  # the third input is never sent


def test_no_time_left_is_504_before_any_call(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    response = call(make_model, {"model": TITAN, "input": "x"}, context=FakeContext(remaining_ms=[1500]))
    assert error_of(response, 504)["code"] == "deadline_exceeded"
    assert new_calls(stub, before) == []


def test_time_running_out_between_titan_calls_is_504(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    context = FakeContext(remaining_ms=[300_000, 1000])  # the margin is 2000 ms
    response = call(make_model, {"model": TITAN, "input": ["a", "b", "c"]}, context=context)
    assert error_of(response, 504)["code"] == "deadline_exceeded"
    assert len(new_calls(stub, before)) == 1


class _Scripted:
    """An embedding model answering a fixed document (shapes the stand-in never sends)."""

    def __init__(self, document: dict[str, Any], tokens: int | None = None) -> None:
        self.document, self.tokens = document, tokens

    def embed(self, model_id: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
        return self.document, self.tokens


@pytest.mark.parametrize(
    ("model_id", "document"),
    [
        (TITAN, {}),
        (TITAN, {"embedding": []}),
        (TITAN, {"embedding": [0.1, "x"]}),
        (TITAN, {"embedding": [0.1], "inputTextTokenCount": -1}),
        (TITAN, {"embedding": [0.1], "inputTextTokenCount": True}),
        (COHERE, {"embeddings": [[0.1], [0.2]]}),  # two vectors for one text
        (COHERE, {"embeddings": {"int8": [[1]]}}),
        (COHERE, {"embeddings": [[float("nan")]]}),
        (TITAN, {"embedding": [1e39]}),  # a JSON number that is no float32, for base64
    ],
)
def test_an_unreadable_bedrock_answer_is_502(model_id: str, document: dict[str, Any]) -> None:
    config = HandlerConfig.from_env(base_env(EMBEDDING_MODEL_IDS=ALL))
    body = {"model": model_id, "input": "x", "encoding_format": "base64"}
    response = respond(event(body), FakeContext(), config=config, model=_Scripted(document))
    error = error_of(response, 502)
    assert (error["type"], error["code"]) == ("server_error", "bedrock_error")


class _StreamOnly:
    """A model double with no `embed` (as the benchmarks' fakes are)."""

    def stream(self, request: Any) -> Any:
        raise AssertionError("never called")


def test_a_model_that_cannot_embed_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config = HandlerConfig.from_env(base_env(EMBEDDING_MODEL_IDS=TITAN))
    response = respond(
        event({"model": TITAN, "input": "x"}), FakeContext(), config=config, model=_StreamOnly()
    )
    assert error_of(response, 500)["code"] == "internal_error"
    [line] = invocation_lines(caplog)
    assert (line["status"], line["modelId"]) == (500, TITAN)


def test_cohere_tokens_default_to_zero_without_the_header() -> None:
    config = HandlerConfig.from_env(base_env(EMBEDDING_MODEL_IDS=COHERE))
    model = _Scripted({"embeddings": {"float": [[0.5, 0.25]]}})
    response = respond(event({"model": COHERE, "input": "x"}), FakeContext(), config=config, model=model)
    result = reply(response)
    assert result.data[0].embedding == [0.5, 0.25] and result.usage.prompt_tokens == 0


class _Body:
    def __init__(self, raw: bytes) -> None:
        self.stream = io.BytesIO(raw)

    def read(self) -> bytes:
        return self.stream.read()


class _Client:
    """A botocore-shaped client answering one raw body (for answers no real endpoint sends here)."""

    def __init__(self, raw: bytes, headers: dict[str, str]) -> None:
        self.raw, self.headers = raw, headers

    def invoke_model(self, **_: Any) -> dict[str, Any]:
        return {"body": _Body(self.raw), "ResponseMetadata": {"HTTPHeaders": self.headers}}


@pytest.mark.parametrize("raw", [b"[]", b"not json", b'"text"', b"[" * 100_000])
def test_the_model_boundary_refuses_an_answer_that_is_no_json_object(raw: bytes) -> None:
    config = HandlerConfig.from_env(base_env())
    model = BedrockModelStream(client=_Client(raw, {}), config=config)
    with pytest.raises(UpstreamError, match="not a JSON object"):
        model.embed(TITAN, {"inputText": "x"})


@pytest.mark.parametrize(
    ("header", "count"), [("12", 12), ("", None), ("x", None), ("-1", None), ("١٢", None)]
)
def test_the_model_boundary_reads_the_token_header(header: str, count: int | None) -> None:
    config = HandlerConfig.from_env(base_env())
    headers = {"x-amzn-bedrock-input-token-count": header} if header else {}
    model = BedrockModelStream(client=_Client(b'{"embedding": [1]}', headers), config=config)
    assert model.embed(TITAN, {"inputText": "x"}) == ({"embedding": [1]}, count)


# --- the models listing, the log -------------------------------------------------------------------------


def test_models_list_the_embedding_models_after_the_chat_models(make_model: Build) -> None:
    config, model = make_model(EMBEDDING_MODEL_IDS=f"{COHERE_V4},{TITAN}")
    response = respond(
        event(None, method="GET", path="/v1/models"), FakeContext(), config=config, model=model
    )
    models = [Model.model_validate(m, strict=True) for m in json.loads("".join(response.body))["data"]]
    assert [(m.id, m.owned_by) for m in models][-2:] == [(COHERE_V4, "cohere"), (TITAN, "amazon")]
    assert [m.id for m in models][: len(config.model_ids)] == list(config.model_ids)
    one = respond(
        event(None, method="GET", path=f"/v1/models/{TITAN}"), FakeContext(), config=config, model=model
    )
    assert json.loads("".join(one.body)) == {
        "id": TITAN,
        "object": "model",
        "created": 0,
        "owned_by": "amazon",
    }


def test_models_list_nothing_more_without_embedding_models(make_model: Build) -> None:
    config, model = make_model()
    response = respond(
        event(None, method="GET", path="/v1/models"), FakeContext(), config=config, model=model
    )
    assert [m["id"] for m in json.loads("".join(response.body))["data"]] == list(config.model_ids)


def invocation_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event"')]


def test_log_line_has_model_tokens_and_caller_never_the_text(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    reply(call(make_model, {"model": COHERE, "input": [f"{MARKER} one", "two"], "user": "u" * 200}))
    [line] = invocation_lines(caplog)
    assert line["format"] == "openai-embeddings"
    assert (line["status"], line["modelId"], line["inputTokens"]) == (200, COHERE, 3)
    assert line["caller"] == "u" * 128
    assert (line["errorType"], line["outputTokens"], line["requestId"]) == (None, 0, REQUEST_ID)
    assert MARKER not in caplog.text


def test_log_line_of_a_refusal_and_of_a_bedrock_error(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    call(make_model, {"model": TITAN, "input": MARKER, "encoding_format": "hex"})
    call(make_model, {"model": TITAN, "input": f"{MARKER} @stub:throttle", "user": "me"})
    refused, throttled = invocation_lines(caplog)
    assert (refused["format"], refused["status"], refused["errorType"]) == (
        "openai-embeddings",
        400,
        "invalid_request",
    )
    assert (throttled["status"], throttled["errorType"], throttled["modelId"]) == (429, "throttled", TITAN)
    assert throttled["caller"] == "me"
    assert MARKER not in caplog.text
