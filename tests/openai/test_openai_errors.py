"""The OpenAI-compatible API's failures as the real `openai` SDK raises them, through the real emulator,
runtime and handler: every pre-stream status to its exception class with code/type/param/request id, the
retry policy (one SDK attempt however many the SDK allows), mid-stream failures in-band then `[DONE]`, and
recovery after them."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.openai.conftest import BEDROCK_MAX_ATTEMPTS, MAX_REQUEST_BYTES, NOVA, Served, user
from tests.support.http_client import request

SECRET = "quince-4471-prompt"  # in every refused prompt: error messages must never echo it


def _check_status_error(
    served: Served, exc: openai.APIStatusError, *, status: int, code: str, param: str | None = None
) -> None:
    """The error body, headers and log line every status error shares."""
    assert exc.status_code == status
    assert (exc.code, exc.param) == (code, param)
    assert exc.type == (
        "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    )
    assert isinstance(exc.body, dict) and set(exc.body) == {"message", "type", "param", "code"}
    assert SECRET not in exc.message
    assert exc.response.headers["content-type"] == "application/json"
    request_id = exc.request_id
    assert request_id and request_id == exc.response.headers["x-request-id"]
    assert exc.response.headers.get("x-should-retry") == ("false" if status >= 429 else None)
    assert exc.response.headers.get("retry-after") == ("2" if status == 429 else None)
    line = served.invocation(request_id)
    assert (line["status"], line["errorType"]) == (status, code)


@pytest.mark.parametrize(
    ("arguments", "param", "fragment"),
    [
        ({"n": 2}, "n", "n is not supported"),
        ({"temperature": 1.5}, "temperature", "temperature"),
        ({"extra_body": {"foo": 1}}, "foo", "unrecognized request argument: foo"),
        ({"seed": 7}, "seed", "seed is not supported"),
        ({"response_format": {"type": "json_object"}}, "response_format", "response_format"),
        ({"max_completion_tokens": 0}, "max_completion_tokens", "max_completion_tokens"),
        ({"max_tokens": 5000}, "max_tokens", "max_tokens"),
        ({"model": ""}, "model", "model"),
        ({"messages": [{"role": "tool", "content": SECRET, "tool_call_id": "c1"}]}, "messages", "tool"),
        ({"messages": [*user(SECRET), {"role": "assistant", "content": SECRET}]}, "messages", "last message"),
        ({"messages": [{"role": "user", "content": "  "}]}, "messages[0].content", "messages[0].content"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_refused_request_is_bad_request_and_never_reaches_bedrock(
    served: Served, arguments: dict[str, Any], param: str, fragment: str, stream: bool
) -> None:
    call: dict[str, Any] = {"model": NOVA, "messages": user(f"{SECRET} @stub:tokens=2"), "stream": stream}
    before = len(served.bedrock_calls())
    with pytest.raises(openai.BadRequestError) as raised:
        served.client().chat.completions.create(**{**call, **arguments})
    _check_status_error(served, raised.value, status=400, code="invalid_request", param=param)
    assert fragment in raised.value.message
    assert len(served.bedrock_calls()) == before


def test_an_unknown_model_is_not_found_for_chat_and_retrieve(served: Served) -> None:
    client = served.client()
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(model="gpt-5", messages=user(SECRET), stream=stream)
        _check_status_error(served, raised.value, status=404, code="model_not_found", param="model")
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("nope")
    assert (raised.value.status_code, raised.value.code, raised.value.param) == (
        404,
        "model_not_found",
        "model",
    )
    assert raised.value.type == "invalid_request_error"


def test_a_body_over_max_request_bytes_is_413(limited: Served) -> None:
    before = len(limited.bedrock_calls())
    with pytest.raises(openai.APIStatusError) as raised:
        limited.client().chat.completions.create(model=NOVA, messages=user(SECRET + " x" * MAX_REQUEST_BYTES))
    assert type(raised.value) is openai.APIStatusError  # the SDK has no class of its own for 413
    _check_status_error(limited, raised.value, status=413, code="payload_too_large")
    assert len(limited.bedrock_calls()) == before
    fits = limited.client().chat.completions.create(
        model=NOVA, messages=user("x " * (MAX_REQUEST_BYTES // 4))
    )
    assert fits.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        (
            "POST",
            "/v1/chat/completions",
            {"Content-Type": "text/plain"},
            (415, "unsupported_media_type", None),
        ),
        ("GET", "/v1/chat/completions", {}, (405, "method_not_allowed", "POST")),
        ("POST", "/v1/models", {"Content-Type": "application/json"}, (405, "method_not_allowed", "GET")),
    ],
)
def test_wrong_content_type_or_method_is_a_json_error(
    served: Served, method: str, path: str, headers: dict[str, str], expected: tuple[int, str, str | None]
) -> None:
    status, code, allow = expected
    # The SDK always sends JSON with the right method, so these go over a raw socket.
    body = json.dumps({"model": NOVA, "messages": user(SECRET)}).encode()
    response = request(served.url, path, method=method, body=body, headers=headers)
    assert response.status == status
    assert response.header("content-type") == "application/json"
    assert response.header("allow") == allow
    assert response.header("x-should-retry") is None
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, None)
    assert SECRET not in error["message"]
    request_id = response.header("x-request-id")
    assert request_id and served.invocation(request_id)["status"] == status


@pytest.mark.parametrize(
    ("directive", "status", "code"),
    [
        ("throttle", 429, "throttled"),
        ("access-denied", 502, "bedrock_access_denied"),
        ("not-found", 502, "bedrock_model_not_found"),
        ("unavailable", 503, "bedrock_unavailable"),
        ("model-timeout", 504, "bedrock_timeout"),
        ("error-after=0", 502, "modelStreamErrorException"),  # the stream failed before its first delta
        ("drop-after=0", 502, "bedrock_stream_interrupted"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_bedrock_failure_before_any_text_is_a_status(
    limited: Served, directive: str, status: int, code: str, stream: bool
) -> None:
    # `limited` makes one Bedrock attempt (BEDROCK_MAX_ATTEMPTS=1), so throttles answer at once.
    expected = openai.RateLimitError if status == 429 else openai.InternalServerError
    with pytest.raises(expected) as raised:  # raised by create(): nothing was streamed
        limited.client().chat.completions.create(
            model=NOVA, messages=user(f"{SECRET} @stub:{directive}"), stream=stream
        )
    _check_status_error(limited, raised.value, status=status, code=code)
    assert f"@stub:{directive}" not in raised.value.message


@pytest.mark.parametrize(
    ("directive", "status", "code", "sdk_class"),
    [
        ("throttle", 429, "throttled", openai.RateLimitError),
        ("unavailable", 503, "bedrock_unavailable", openai.InternalServerError),
    ],
)
def test_the_sdk_makes_one_attempt_so_bedrock_sees_only_the_functions_own_retries(
    served: Served, directive: str, status: int, code: str, sdk_class: type[openai.APIStatusError]
) -> None:
    # Both statuses are ones the SDK retries by default (429, >= 500; max_retries=2 means 3 attempts).
    # The function has already retried Bedrock BEDROCK_MAX_ATTEMPTS times (botocore standard mode) before
    # answering, so SDK retries would multiply: 3 SDK attempts x 3 Bedrock attempts = 9 Bedrock calls for
    # one SDK call. `x-should-retry: false` stops the SDK, so one SDK call is one invocation is 3 calls.
    client = served.client(max_retries=2)
    invocations_before, calls_before = len(served.invocations()), len(served.bedrock_calls())
    with pytest.raises(sdk_class) as raised:
        client.chat.completions.create(model=NOVA, messages=user(f"{SECRET} @stub:{directive}"))
    _check_status_error(served, raised.value, status=status, code=code)  # also waits for its log line
    # One "event":"invocation" line per invocation of the function, i.e. per HTTP attempt of the SDK.
    new_lines = served.invocations()[invocations_before:]
    assert [line["requestId"] for line in new_lines] == [raised.value.request_id]
    assert len(served.bedrock_calls()) - calls_before == BEDROCK_MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("directive", "sent", "code"),
    [("error-after=3", 3, "modelStreamErrorException"), ("drop-after=2", 2, "bedrock_stream_interrupted")],
)
def test_a_failure_mid_stream_is_an_in_band_error_then_done(
    served: Served, directive: str, sent: int, code: str
) -> None:
    client, prompt = served.client(), f"{SECRET} @stub:{directive}"
    stream = client.chat.completions.create(model=NOVA, messages=user(prompt), stream=True)
    texts: list[str] = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
    assert len(texts) == sent
    assert type(raised.value) is openai.APIError  # not a status error: the status was already 200
    assert (raised.value.code, raised.value.type, raised.value.param) == (code, "server_error", None)
    assert SECRET not in raised.value.message
    assert stream.response.status_code == 200
    line = served.invocation(stream.response.headers["x-request-id"])
    assert (line["status"], line["stopReason"], line["errorType"]) == (200, "error", code)

    raw = request(
        served.url, "/v1/chat/completions", body={"model": NOVA, "messages": user(prompt), "stream": True}
    )
    assert raw.status == 200
    *_, error_event, done = raw.body.decode().split("\n\n")[:-1]
    assert raw.body.decode().endswith(f"{error_event}\n\ndata: [DONE]\n\n")
    assert done == "data: [DONE]"
    assert json.loads(error_event.removeprefix("data: "))["error"] == {
        "message": raised.value.message,
        "type": "server_error",
        "param": None,
        "code": code,
    }

    after = client.chat.completions.create(model=NOVA, messages=user("recovered"), stream=True)
    assert [c.choices[0].finish_reason for c in after if c.choices][-1] == "stop"


@pytest.mark.parametrize(
    ("directive", "code"),
    [("error-after=3", "modelStreamErrorException"), ("drop-after=2", "bedrock_stream_interrupted")],
)
def test_a_whole_completion_failing_mid_stream_is_a_502_not_a_200(
    served: Served, directive: str, code: str
) -> None:
    client = served.client()
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=NOVA, messages=user(f"{SECRET} @stub:{directive}"))
    _check_status_error(served, raised.value, status=502, code=code)
    assert (
        client.chat.completions.create(model=NOVA, messages=user("recovered")).choices[0].finish_reason
        == "stop"
    )
