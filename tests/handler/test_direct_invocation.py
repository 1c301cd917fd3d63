"""Direct invocations through `respond` with real boto3 against the real stand-in: each format of both APIs
streams the same bytes as an HTTP door, without a prelude, under its Content-Type; a failure before the
first byte is a `FunctionError` with the HTTP error body's type and message, one after it ends the body
with a `FunctionError` of the in-band error's type (after that in-band error); and the invocation's log
line and metrics document name the door `direct`, no principal, and the API."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bedrock_handler import metrics
from bedrock_handler.invocation import respond
from handler_support import FakeContext, base_env, load_event
from streaming_runtime import FunctionError, RawStreamingResponse, StreamingResponse

from emulator.emf import problems
from emulator.stub_replies import reply_tokens

Build = Callable[..., Any]
CLAUDE = base_env()["MODEL_IDS"].split(",")[0]
# Fixed clocks: the reply's timings and `created` are then the same through every door.
CLOCKS: dict[str, Callable[[], float]] = {"clock": lambda: 50.0, "wall_clock": lambda: 1_765_017_600.0}
PROMPT = "direct door @stub:tokens=5"
OPENAI_PATH = "/v1/chat/completions"


def openai(prompt: str, **fields: Any) -> dict[str, Any]:
    """A Chat Completions body as a direct event (`api: openai`)."""
    return {"api": "openai", "model": CLAUDE, "messages": [{"role": "user", "content": prompt}], **fields}


# name -> (direct event for a prompt, Content-Type)
FORMATS: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "text": (lambda p: {"prompt": p}, "text/plain; charset=utf-8"),
    "ndjson": (lambda p: {"prompt": p, "format": "ndjson"}, "application/x-ndjson; charset=utf-8"),
    "openai-sse": (
        lambda p: openai(p, stream=True, stream_options={"include_usage": True}),
        "text/event-stream; charset=utf-8",
    ),
    "openai-json": (openai, "application/json"),
}


def twin(event: dict[str, Any]) -> dict[str, Any]:
    """The Function URL event carrying the same request as a direct event."""
    body = {key: value for key, value in event.items() if key not in ("api", "format")}
    if event.get("api") == "openai":
        return load_event(rawPath=OPENAI_PATH, queryStringParameters=None, headers=_JSON, body=body)
    return load_event(
        rawPath="/", queryStringParameters={"format": event.get("format", "text")}, headers=_JSON, body=body
    )


_JSON = {"content-type": "application/json"}


def invoke(make_model: Build, event: Any, *, context: FakeContext | None = None, **env: str) -> Any:
    config, model = make_model(**env)
    return respond(event, context or FakeContext(), config=config, model=model, **CLOCKS)


def drain(body: Any) -> tuple[list[str], BaseException | None]:
    """Every piece of a body, and the exception that ended it (None for a clean end)."""
    pieces: list[str] = []
    iterator: Iterator[str] = iter(body)
    try:
        pieces.extend(iterator)
    except Exception as exc:
        return pieces, exc
    return pieces, None


def http_error(make_model: Build, event: dict[str, Any], **env: str) -> tuple[str, str]:
    """The (type, message) the HTTP door's error body carries for the same request."""
    response = invoke(make_model, twin(event), **env)
    assert isinstance(response, StreamingResponse) and response.status_code >= 400
    error = json.loads("".join(response.body))["error"]
    return error.get("code", error.get("type")), error["message"]


# --- success: each format, the same bytes as over HTTP --------------------------------------------


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_streams_the_http_doors_bytes_without_a_prelude(make_model: Build, name: str) -> None:
    build, content_type = FORMATS[name]
    event = build(PROMPT)
    response = invoke(make_model, event)
    assert isinstance(response, RawStreamingResponse)
    assert response.content_type == content_type
    pieces, ended = drain(response.body)
    assert ended is None
    over_http = invoke(make_model, twin(event))
    assert isinstance(over_http, StreamingResponse) and over_http.status_code == 200
    assert over_http.headers["content-type"] == content_type
    assert pieces == list(over_http.body)  # piece by piece: the chunks a caller receives
    words = reply_tokens("direct door", 5)
    text = "".join(pieces)
    if name == "text":
        assert pieces == words
    elif name == "ndjson":
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line.get("text") for line in lines[:-1]] == words
        assert lines[-1]["type"] == "done" and lines[-1]["usage"]["outputTokens"] == 5
    elif name == "openai-sse":
        assert text.endswith("data: [DONE]\n\n") and '"object":"chat.completion.chunk"' in text
    else:
        document = json.loads(text)
        assert document["choices"][0]["message"]["content"] == "".join(words)
        assert document["id"] == f"chatcmpl-{FakeContext().aws_request_id}"


def test_an_empty_completion_is_an_empty_body(make_model: Build) -> None:
    response = invoke(make_model, {"prompt": "nothing @stub:tokens=0"})
    assert drain(response.body) == ([], None)


def test_a_lone_surrogate_in_the_prompt_is_judged_as_over_http(make_model: Build) -> None:
    event = {"prompt": "odd \ud800 text", "format": "ndjson"}
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, event)
    assert (raised.value.error_type, raised.value.message) == (
        "invalid_request",
        "prompt is not valid Unicode (lone surrogate)",
    )
    assert http_error(make_model, event) == ("invalid_request", raised.value.message)


def test_the_request_size_limit_counts_the_body_as_utf8_json(make_model: Build) -> None:
    # {"prompt":"éé…"} is 11 + 2 + 2 bytes per é: 93 bytes for 40, 113 for 50
    assert isinstance(invoke(make_model, {"prompt": "é" * 40}, MAX_REQUEST_BYTES="100"), RawStreamingResponse)
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, {"prompt": "é" * 50, "format": "ndjson"}, MAX_REQUEST_BYTES="100")
    assert (raised.value.error_type, raised.value.message) == (
        "payload_too_large",
        "request body exceeds 100 bytes",
    )


# --- failures before the first byte: FunctionError with the HTTP error body's type and message ------


BEFORE_FIRST_BYTE = {
    "throttled": ("@stub:throttle", "throttled"),
    "access denied": ("@stub:access-denied", "bedrock_access_denied"),
    "model not found": ("@stub:not-found", "bedrock_model_not_found"),
    "unavailable": ("@stub:unavailable", "bedrock_unavailable"),
    "model timeout": ("@stub:model-timeout", "bedrock_timeout"),
    "stream error before text": ("@stub:error-after=0", "modelStreamErrorException"),
    "dropped before text": ("@stub:drop-after=0", "bedrock_stream_interrupted"),
}


@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("case", list(BEFORE_FIRST_BYTE))
def test_a_bedrock_failure_before_the_first_byte_is_a_function_error(
    make_model: Build, name: str, case: str
) -> None:
    directive, error_type = BEFORE_FIRST_BYTE[case]
    event = FORMATS[name][0](f"fails early {directive}")
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, event)
    assert raised.value.error_type == error_type
    assert (raised.value.error_type, raised.value.message) == http_error(make_model, event)


@pytest.mark.parametrize(
    ("event", "error_type", "message"),
    [
        ({"prompt": "x", "maxTokens": 0}, "invalid_request", "maxTokens must be between 1 and 4096"),
        ({"prompt": "x", "temperature": "hot"}, "invalid_request", None),
        ({"prompt": "x", "surprise": 1}, "invalid_request", None),
        ({"messages": []}, "invalid_request", "messages must be a non-empty list"),
        ({"prompt": "x", "modelId": "gpt-4"}, "invalid_request", None),
        ({**openai("x"), "model": "gpt-4"}, "model_not_found", None),
        ({**openai("x"), "surprise": 1}, "invalid_request", "unrecognized request argument: surprise"),
        ({**openai("x"), "n": 2}, "invalid_request", None),
        ({**openai("x"), "stream": "yes"}, "invalid_request", "stream must be a boolean"),
    ],
)
def test_a_bad_body_is_refused_as_over_http(
    make_model: Build, event: dict[str, Any], error_type: str, message: str | None
) -> None:
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, event)
    assert raised.value.error_type == error_type
    assert message is None or raised.value.message == message
    assert (raised.value.error_type, raised.value.message) == http_error(make_model, event)


@pytest.mark.parametrize("name", list(FORMATS))
def test_too_little_time_left_is_deadline_exceeded(make_model: Build, name: str) -> None:
    event = FORMATS[name][0]("in a hurry")
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, event, context=FakeContext(remaining_ms=[1_000]))  # under the 2 s margin
    assert (raised.value.error_type, raised.value.message) == (
        "deadline_exceeded",
        "not enough invocation time left to call the model",
    )


def test_the_deadline_before_the_first_token_is_deadline_exceeded(make_model: Build) -> None:
    config, model = make_model(DEADLINE_MARGIN_MS="4700")
    with pytest.raises(FunctionError) as raised:  # the watchdog fires after ~0.3 s; the first delta takes 3 s
        respond(
            {"prompt": "slow start @stub:first-token-ms=3000"},
            FakeContext(remaining_ms=[5_000]),
            config=config,
            model=model,
        )
    assert (raised.value.error_type, raised.value.message) == (
        "deadline_exceeded",
        "the function ran out of time before the model's first token",
    )


# --- failures after the first byte: in-band error (when the format has one), then FunctionError -----


AFTER_FIRST_BYTE = {
    "stream error": ("@stub:error-after=2", "modelStreamErrorException"),
    "dropped": ("@stub:drop-after=2", "bedrock_stream_interrupted"),
}


@pytest.mark.parametrize("name", ["text", "ndjson", "openai-sse"])
@pytest.mark.parametrize("case", list(AFTER_FIRST_BYTE))
def test_a_failure_after_the_first_byte_ends_the_body_with_a_function_error(
    make_model: Build, name: str, case: str
) -> None:
    directive, error_type = AFTER_FIRST_BYTE[case]
    event = FORMATS[name][0](f"fails late {directive}")
    response = invoke(make_model, event)
    assert isinstance(response, RawStreamingResponse)
    pieces, ended = drain(response.body)
    assert isinstance(ended, FunctionError) and ended.error_type == error_type
    assert ended.__cause__ is None and ended.__suppress_context__  # no handler traceback to report
    http_pieces, http_ended = drain(invoke(make_model, twin(event)).body)
    assert pieces == http_pieces and http_ended is not None  # the same bytes, in-band error included
    words = reply_tokens("fails late", 2)
    if name == "text":  # raw text has no in-band error: only the trailers tell
        assert pieces == words
        assert ended.message.startswith("Bedrock ")
        return
    last = pieces[-1]
    if name == "ndjson":
        assert [json.loads(piece).get("text") for piece in pieces[:-1]] == words
        error = json.loads(last)["error"]
        assert error == {"type": error_type, "message": ended.message}
    else:
        data = [line[len("data: ") :] for line in last.split("\n") if line.startswith("data: ")]
        assert data[-1] == "[DONE]"
        assert json.loads(data[0])["error"]["code"] == error_type
        assert json.loads(data[0])["error"]["message"] == ended.message


def test_a_non_streamed_openai_reply_fails_before_its_only_byte(make_model: Build) -> None:
    event = openai("fails late @stub:error-after=2")  # the whole object is sent at the end
    with pytest.raises(FunctionError) as raised:
        invoke(make_model, event)
    assert raised.value.error_type == "modelStreamErrorException"
    assert (raised.value.error_type, raised.value.message) == http_error(make_model, event)


def test_closing_the_body_early_closes_the_model_stream(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    response = invoke(make_model, {"prompt": "long @stub:tokens=50 @stub:delay-ms=5"})
    body = iter(response.body)
    assert next(body) == reply_tokens("long", 1)[0]
    body.close()  # what the runtime does when the caller goes away
    [line] = _lines(caplog)
    assert (line["door"], line["stopReason"]) == ("direct", "cancelled")


# --- the log line and the metrics document ----------------------------------------------------------


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    found = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event"')]
    return [line for line in found if line["event"] == "invocation"]


def _documents(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    found = [json.loads(line) for line in out.splitlines() if line.startswith(metrics.EMF_PREFIX)]
    for emf in found:
        assert problems(emf) == [], emf
    return found


LOGGED = {
    # name: (event, the line's status / format / errorType, the document's Api / Outcome)
    "native text": ({"prompt": PROMPT}, (200, "text", None), ("native", "ok")),
    "native ndjson": ({"prompt": PROMPT, "format": "ndjson"}, (200, "ndjson", None), ("native", "ok")),
    "openai stream": (openai(PROMPT, stream=True), (200, "openai-sse", None), ("openai", "ok")),
    "openai object": (openai(PROMPT), (200, "openai-json", None), ("openai", "ok")),
    "not an object": (["prompt"], (400, None, "invalid_request"), ("native", "client_error")),
    "bad format, openai": (
        {**openai("x"), "format": "ndjson"},
        (400, None, "invalid_request"),
        ("openai", "client_error"),
    ),
    "unknown field": ({"prompt": "x", "y": 1}, (400, None, "invalid_request"), ("native", "client_error")),
    "throttled": (
        {"prompt": "x @stub:throttle"},
        (429, "text", "throttled"),
        ("native", "bedrock_throttled"),
    ),
    "mid-stream": (
        {"prompt": "x @stub:error-after=1", "format": "ndjson"},
        (200, "ndjson", "modelStreamErrorException"),
        ("native", "mid_stream_failure"),
    ),
}


@pytest.mark.parametrize("name", list(LOGGED))
def test_the_log_line_and_metrics_document_name_the_direct_door(
    make_model: Build, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    event, (status, fmt, error_type), (api, outcome) = LOGGED[name]
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    with contextlib.suppress(FunctionError):  # a refusal: raised by `respond`, not by the body
        drain(invoke(make_model, event, AWS_LAMBDA_FUNCTION_NAME="fn").body)
    [line] = _lines(caplog)
    assert (line["door"], line["principal"], line["caller"]) == ("direct", None, None)
    assert (line["status"], line["format"], line["errorType"]) == (status, fmt, error_type)
    [emf] = _documents(capsys)
    assert (emf["FunctionName"], emf["Api"], emf["Door"], emf["Outcome"]) == ("fn", api, "direct", outcome)
    assert "Principal" not in emf
    assert emf["ModelId"] == (CLAUDE if fmt is not None else metrics.NO_MODEL)
    assert "direct door" not in json.dumps(line) + json.dumps(emf)  # never the prompt
