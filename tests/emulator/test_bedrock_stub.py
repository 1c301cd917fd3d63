"""The Bedrock stand-in, checked with a real boto3 bedrock-runtime client (raw HTTP for bad requests)."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError, ReadTimeoutError

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens
from tests.support.bedrock_client import bedrock_client

CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
INVOKE_MODELS = {
    "anthropic": "anthropic.claude-3-haiku-20240307-v1:0",
    "meta": "us.meta.llama3-1-8b-instruct-v1:0",
    "cohere": "cohere.command-text-v14",
    "cohere-r": "cohere.command-r-plus-v1:0",
    "titan": "amazon.titan-text-express-v1",
    "nova": "global.amazon.nova-lite-v1:0",
    "mistral": "mistral.mistral-7b-instruct-v0:2",
}


@pytest.fixture(scope="module")
def client(stub: BedrockStub) -> Any:
    return bedrock_client(stub.url)


def converse(client: Any, text: str, **kwargs: Any) -> list[dict]:
    response = client.converse_stream(
        modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": text}]}], **kwargs
    )
    return list(response["stream"])


def deltas(events: list[dict]) -> list[str]:
    return [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]


def test_converse_stream_is_deterministic_and_complete(client: Any, stub: BedrockStub) -> None:
    events = converse(client, "tell me a story @stub:tokens=5")
    assert deltas(events) == reply_tokens("tell me a story", 5)
    assert list(events[0]) == ["messageStart"]
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    usage = events[-1]["metadata"]["usage"]
    assert usage == {"inputTokens": 4, "outputTokens": 5, "totalTokens": 9}
    assert stub.requests[-1].model_id == CLAUDE  # the ':' arrives percent-encoded and is decoded


def test_default_is_twelve_tokens(client: Any) -> None:
    assert deltas(converse(client, "hello")) == reply_tokens("hello", 12)


def test_max_tokens_cuts_the_reply(client: Any) -> None:
    events = converse(client, "hello @stub:tokens=9", inferenceConfig={"maxTokens": 3})
    assert deltas(events) == reply_tokens("hello", 3)
    assert events[-2] == {"messageStop": {"stopReason": "max_tokens"}}


def test_reply_depends_on_the_prompt() -> None:
    assert reply_tokens("a", 8) != reply_tokens("b", 8)
    assert "".join(reply_tokens("a", 3)).count(" ") == 2


def test_delays_space_out_the_deltas(client: Any) -> None:
    response = client.converse_stream(
        modelId=CLAUDE,
        messages=[
            {
                "role": "user",
                "content": [{"text": "x @stub:tokens=4 @stub:delay-ms=60 @stub:first-token-ms=150"}],
            }
        ],
    )
    started = time.monotonic()
    arrivals = [time.monotonic() - started for e in response["stream"] if "contentBlockDelta" in e]
    assert len(arrivals) == 4
    assert arrivals[0] >= 0.14
    assert arrivals[-1] - arrivals[0] >= 0.17  # three gaps of 60 ms, generous lower bound only


@pytest.mark.parametrize(("family", "model_id"), sorted(INVOKE_MODELS.items()))
def test_invoke_stream_for_every_family(client: Any, family: str, model_id: str) -> None:
    bodies = {
        "anthropic": {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi there @stub:tokens=4"}]}],
        },
        "nova": {
            "messages": [{"role": "user", "content": [{"text": "hi there @stub:tokens=4"}]}],
            "inferenceConfig": {"maxTokens": 50},
        },
        "meta": {
            "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi there @stub:tokens=4"
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        },
        "cohere": {"prompt": "User: hi there @stub:tokens=4\nChatbot:"},
        "cohere-r": {"message": "hi there @stub:tokens=4"},
        "titan": {"inputText": "User: hi there @stub:tokens=4\nBot:"},
        "mistral": {"prompt": "<s>[INST] hi there @stub:tokens=4 [/INST]"},
    }
    response = client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(bodies[family]))
    assert response["contentType"] == "application/json"
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == 2 and metrics["outputTokenCount"] == 4
    assert all("amazon-bedrock-invocationMetrics" not in c for c in chunks[:-1])
    text = json.dumps(chunks)
    for token in reply_tokens("hi there", 4):
        assert json.dumps(token)[1:-1] in text


def test_invoke_max_tokens_gives_native_truncation_reason(client: Any) -> None:
    body = {"prompt": "<s>[INST] hi @stub:tokens=6 [/INST]", "max_tokens": 2}
    response = client.invoke_model_with_response_stream(
        modelId=INVOKE_MODELS["mistral"], body=json.dumps(body)
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    texts = [c["outputs"][0]["text"] for c in chunks if c["outputs"][0]["text"]]
    assert texts == reply_tokens("hi", 2)
    assert chunks[-1]["outputs"][0]["stop_reason"] == "length"


@pytest.mark.parametrize(
    ("directive", "exception", "status"),
    [
        ("@stub:throttle", "ThrottlingException", 429),
        ("@stub:access-denied", "AccessDeniedException", 403),
        ("@stub:not-found", "ResourceNotFoundException", 404),
        ("@stub:unavailable", "ServiceUnavailableException", 503),
        ("@stub:model-timeout", "ModelTimeoutException", 408),
        ("@stub:tokens=abc", "ValidationException", 400),
        ("@stub:bogus", "ValidationException", 400),
        ("@stub:throttle=1", "ValidationException", 400),
    ],
)
def test_pre_stream_errors_are_modelled_exceptions(
    client: Any, directive: str, exception: str, status: int
) -> None:
    error_class = getattr(client.exceptions, exception)
    with pytest.raises(error_class) as caught:
        converse(client, f"hello {directive}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if exception == "ValidationException":
        assert directive in caught.value.response["Error"]["Message"]


def test_invoke_pre_stream_error(client: Any) -> None:
    with pytest.raises(client.exceptions.ThrottlingException):
        client.invoke_model_with_response_stream(
            modelId=INVOKE_MODELS["cohere-r"], body=b'{"message":"@stub:throttle"}'
        )


def test_error_after_raises_event_stream_error_after_n_deltas(client: Any) -> None:
    response = client.converse_stream(
        modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "q @stub:error-after=3"}]}]
    )
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["stream"]:
            seen.append(event)
    assert deltas(seen) == reply_tokens("q", 3)
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_invoke_error_after(client: Any) -> None:
    body = json.dumps({"prompt": "<s>[INST] q @stub:error-after=1 [/INST]"})
    response = client.invoke_model_with_response_stream(modelId=INVOKE_MODELS["mistral"], body=body)
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        list(response["body"])


def test_drop_after_cuts_the_connection(client: Any) -> None:
    response = client.converse_stream(
        modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "q @stub:drop-after=2"}]}]
    )
    seen = []
    with pytest.raises(Exception) as caught:
        for event in response["stream"]:
            seen.append(event)
    assert "ProtocolError" in type(caught.value).__name__ or "IncompleteRead" in repr(caught.value)
    assert deltas(seen) == reply_tokens("q", 2)


def test_hang_exceeds_a_short_read_timeout(stub: BedrockStub) -> None:
    impatient = boto3.session.Session().client(
        "bedrock-runtime",
        endpoint_url=stub.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDUMMY",
        aws_secret_access_key="dummy",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=0.3),
    )
    with pytest.raises(ReadTimeoutError):
        converse(impatient, "q @stub:hang-ms=1500")


def raw_post(stub: BedrockStub, path: str, body: bytes) -> tuple[int, dict, str]:
    host, port = stub.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())["message"]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/nowhere", b"{}", "unsupported path"),
        ("/model/m/converse-stream", b"{not json", "not valid JSON"),
        ("/model/m/converse-stream", b"[1]", "JSON object"),
        ("/model/m/converse-stream", b"{}", "messages"),
        (
            "/model/m/converse-stream",
            b'{"messages": [{"role": "user", "content": [{"text": "a \\ud800"}]}]}',
            "not valid Unicode",
        ),
        ("/model/unknown.model-v1/invoke-with-response-stream", b"{}", "no InvokeModel format"),
    ],
)
def test_bad_requests_get_400_validation_exception(
    stub: BedrockStub, path: str, body: bytes, message: str
) -> None:
    status, headers, text = raw_post(stub, path, body)
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("ValidationException:")
    assert message in text


def test_close_releases_the_port_even_with_a_hanging_reply() -> None:
    server = BedrockStub.start()
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "@stub:hang-ms=60000"}]}]})
    connection.request("POST", "/model/m/converse-stream", body=body)
    time.sleep(0.1)
    started = time.monotonic()
    server.close()
    connection.close()
    assert time.monotonic() - started < 5
    with pytest.raises(OSError):
        http.client.HTTPConnection(host, int(port), timeout=1).request("GET", "/")
