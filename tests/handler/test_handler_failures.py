"""The handler when Bedrock fails before the first text delta, and what its error replies may say.

A stream that fails before its first delta has sent nothing, so every format gets an error status (the
same error `type` the in-band event would carry); botocore's network errors, which name the endpoint
URL, reach the client as fixed messages. Real boto3 against the real stand-in (or a dead endpoint).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bedrock_handler.errors import before_first_text, stream_error
from bedrock_handler.invocation import respond
from botocore.exceptions import EventStreamError
from handler_support import FakeContext, load_event

from emulator.stub_replies import reply_tokens

Build = Callable[..., Any]
FORMATS = ("text", "sse", "ndjson")
# A URL, a host:port, or urllib3's `host='...', port=N` of the machine that served the request.
ENDPOINT_LEAK = re.compile(r"https?://|\b(?:localhost|\d{1,3}(?:\.\d{1,3}){3}):\d+|\bport=\d+")


def call(make_model: Build, prompt: str, *, fmt: str, context: FakeContext | None = None, **env: str) -> Any:
    config, model = make_model(**env)
    event = load_event(body={"prompt": prompt}, queryStringParameters={"format": fmt})
    return respond(event, context or FakeContext(), config=config, model=model)


def error_of(response: Any) -> dict[str, str]:
    assert response.headers["content-type"] == "application/json"
    document = json.loads("".join(response.body))
    assert set(document) == {"error"} and set(document["error"]) == {"type", "message"}, document
    error: dict[str, str] = document["error"]
    return error


def invocation_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event"')]


# --- the model stream fails before its first text delta ------------------------------------------------


BEFORE_TEXT = {
    "model error": ("@stub:error-after=0", {}, 502, "modelStreamErrorException"),
    "dropped": ("@stub:drop-after=0", {}, 502, "bedrock_stream_interrupted"),
    # Headers and messageStart arrive, then the stand-in stalls past the read timeout.
    "read timeout": ("@stub:first-token-ms=2000", {"BEDROCK_READ_TIMEOUT_S": "0.3"}, 504, "bedrock_timeout"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BEFORE_TEXT))
def test_stream_failing_before_the_first_delta_is_an_error_status(
    make_model: Build, caplog: pytest.LogCaptureFixture, fmt: str, case: str
) -> None:
    directives, env, status, error_type = BEFORE_TEXT[case]
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    response = call(make_model, f"before text {directives}", fmt=fmt, **env)
    assert response.status_code == status
    error = error_of(response)
    assert error["type"] == error_type and error["message"]
    [line] = invocation_lines(caplog)  # logged once, with the status the client got
    assert (line["status"], line["errorType"], line["outputTokens"]) == (status, error_type, 0)


def test_the_status_reply_carries_what_the_in_band_event_would(make_model: Build) -> None:
    before = error_of(call(make_model, "x @stub:error-after=0", fmt="sse"))
    pieces: list[str] = []
    with pytest.raises(Exception, match="modelStreamErrorException"):
        pieces.extend(call(make_model, "x @stub:error-after=1", fmt="ndjson").body)
    assert [json.loads(piece)["type"] for piece in pieces] == ["delta", "error"]
    assert before == json.loads(pieces[-1])["error"]


def test_deadline_before_the_first_delta_is_504(make_model: Build) -> None:
    # 5 s left with a 4.7 s margin: the watchdog fires after ~0.3 s, while the first delta waits 3 s.
    response = call(
        make_model,
        "slow start @stub:first-token-ms=3000",
        fmt="sse",
        context=FakeContext(remaining_ms=[5_000]),
        DEADLINE_MARGIN_MS="4700",
    )
    assert response.status_code == 504
    assert error_of(response)["type"] == "deadline_exceeded"


@pytest.mark.parametrize(("fmt", "body"), [("text", ""), ("ndjson", None), ("sse", None)])
def test_an_empty_completion_is_still_200(make_model: Build, fmt: str, body: str | None) -> None:
    response = call(make_model, "nothing to say @stub:tokens=0", fmt=fmt)
    assert response.status_code == 200
    text = "".join(response.body)
    if body is not None:
        assert text == body
    else:
        assert "done" in text and "delta" not in text and '"outputTokens":0' in text


def test_a_stream_failing_after_the_first_delta_stays_200(make_model: Build) -> None:
    response = call(make_model, "late failure @stub:error-after=1", fmt="text")
    assert response.status_code == 200
    pieces: list[str] = []
    with pytest.raises(Exception, match="modelStreamErrorException"):
        pieces.extend(response.body)
    assert pieces == reply_tokens("late failure", 1)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("throttlingException", 429),
        ("serviceUnavailableException", 503),
        ("internalServerException", 503),
        ("modelTimeoutException", 504),
        ("modelStreamErrorException", 502),
        ("validationException", 502),
    ],
)
def test_in_stream_codes_take_their_status_from_the_one_table(code: str, status: int) -> None:
    exc = EventStreamError({"Error": {"Code": code, "Message": "m"}}, "ConverseStream")
    error = before_first_text(stream_error(exc))
    assert (error.status, error.error_type, error.message) == (status, code, f"Bedrock {code}: m")


# --- error messages never name the endpoint -----------------------------------------------------------


class DeadEndpoint:
    """A TCP endpoint that accepts connections and closes them unanswered (botocore's
    ConnectionClosedError), or, once closed, refuses them (EndpointConnectionError)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self._listener.close()
        self._thread.join(timeout=5)


@pytest.fixture
def dead_endpoint(monkeypatch: pytest.MonkeyPatch, bedrock_env: object) -> Iterator[DeadEndpoint]:
    endpoint = DeadEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint.url)
    yield endpoint
    endpoint.close()


def test_connection_closed_before_answering_does_not_leak_the_endpoint(
    make_model: Build, dead_endpoint: DeadEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    response = call(make_model, "secret-prompt-text", fmt="sse")
    assert response.status_code == 502
    error = error_of(response)
    assert error["type"] == "bedrock_stream_interrupted"
    assert not ENDPOINT_LEAK.search(error["message"]), error
    # The detail (with the URL) is logged for the operator, at WARNING and without the prompt.
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "ConnectionClosedError" in warning.getMessage() and dead_endpoint.url in warning.getMessage()
    assert "secret-prompt-text" not in caplog.text


def test_refused_connection_does_not_leak_the_endpoint(
    make_model: Build, dead_endpoint: DeadEndpoint
) -> None:
    dead_endpoint.close()
    response = call(make_model, "x", fmt="ndjson", BEDROCK_CONNECT_TIMEOUT_S="2")
    assert response.status_code == 503
    error = error_of(response)
    assert error["type"] == "bedrock_unavailable" and not ENDPOINT_LEAK.search(error["message"]), error


@pytest.mark.parametrize(
    ("directives", "env"),
    [
        ("@stub:hang-ms=2000", {"BEDROCK_READ_TIMEOUT_S": "0.3"}),  # botocore ReadTimeoutError
        ("@stub:first-token-ms=2000", {"BEDROCK_READ_TIMEOUT_S": "0.3"}),  # urllib3's, from the stream
        ("@stub:drop-after=0", {}),  # urllib3 ProtocolError
    ],
)
def test_timeouts_and_drops_do_not_leak_the_endpoint(
    make_model: Build, directives: str, env: dict[str, str]
) -> None:
    error = error_of(call(make_model, f"x {directives}", fmt="text", **env))
    assert not ENDPOINT_LEAK.search(error["message"]), error


def test_the_leak_pattern_catches_botocore_messages() -> None:
    """Control: the pattern matches what botocore and urllib3 say."""
    for text in (
        'Connect timeout on endpoint URL: "http://127.0.0.1:9/model/x/converse-stream"',
        "HTTPConnectionPool(host='127.0.0.1', port=9): Read timed out.",
        "localhost:8080",
    ):
        assert ENDPOINT_LEAK.search(text), text
    assert not ENDPOINT_LEAK.search("Bedrock did not answer in time")
