"""The client against a scripted HTTP server on 127.0.0.1: streaming, formats, errors, truncation, CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

import stream_client
from stream_client import (
    HttpStatusError,
    InBandError,
    RequestFailedError,
    StreamOptions,
    TruncatedStreamError,
    UsageError,
    open_stream,
)
from tests.client.cli_runner import run_cli
from tests.client.scripted_server import DONE, Script, ScriptedHandler, ScriptedServer, sse, sse_script
from tests.support.emulator_process import REPO, hermetic_env

GATE_TIMEOUT = 20.0


def gated_sse(gate: threading.Event, released: list[bool]) -> Script:
    """First delta, then wait until the client shows it has that delta, then the rest."""

    def script(h: ScriptedHandler) -> None:
        h.head(200, "text/event-stream")
        h.chunk(sse("delta", {"text": "first "}))
        released.append(gate.wait(GATE_TIMEOUT))
        h.chunk(sse("delta", {"text": "second"}))
        h.chunk(sse("done", DONE))
        h.end()

    return script


def test_pieces_arrive_before_the_server_finishes(server: ScriptedServer) -> None:
    gate, released = threading.Event(), list[bool]()
    server.script = gated_sse(gate, released)
    pieces = []
    for piece in stream_client.stream(server.url, "hi"):
        pieces.append(piece)
        gate.set()
    # The server only sent the rest after the client had yielded the first piece.
    assert released == [True]
    assert pieces == ["first ", "second"]


def test_request_shape_and_sse_result(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "ok"}), ("done", DONE))
    options = StreamOptions(model="m.1", system="be brief", max_tokens=7, temperature=0.5)
    with open_stream(server.url + "chat?x=1", "héllo", options=options) as call:
        assert list(call) == ["ok"]
    result = call.result
    assert result.complete and result.text == "ok"
    assert result.stop_reason == "end_turn" and result.model_id == "test.model"
    assert result.stats.output_tokens == 3 and result.stats.status == 200
    assert result.stats.bytes > 0 and result.stats.ttfb_ms is not None
    assert result.stats.tokens_per_s is not None and result.stats.tokens_per_s > 0
    request = server.requests[0]
    assert request.path == "/chat?x=1"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert json.loads(request.body) == {"prompt": "héllo", "modelId": "m.1", "system": "be brief",
                                        "maxTokens": 7, "temperature": 0.5}  # fmt: skip


def test_ndjson(server: ScriptedServer) -> None:
    def script(h: ScriptedHandler) -> None:
        h.head(200, "application/x-ndjson")
        h.chunk(b'{"type": "delta", "text": "a"}\n{"type": "del')
        h.chunk(b'ta", "text": "b"}\n' + json.dumps({"type": "done", **DONE}).encode() + b"\n")
        h.end()

    server.script = script
    with open_stream(server.url, "hi", options=StreamOptions(format="ndjson")) as call:
        assert "".join(call) == "ab"
    assert call.result.complete and call.result.stats.output_tokens == 3
    assert server.requests[0].headers["accept"] == "application/x-ndjson"


def test_plain_text_with_content_length(server: ScriptedServer) -> None:
    body = "plain ✓ text".encode()

    def script(h: ScriptedHandler) -> None:
        h.head(200, "text/plain; charset=utf-8", extra=f"Content-Length: {len(body)}")
        h.wfile.write(body)

    server.script = script
    with open_stream(server.url, "hi", options=StreamOptions(format="text")) as call:
        assert "".join(call) == "plain ✓ text"
    assert call.result.complete and call.result.stats.output_tokens is None
    assert "output_tokens=- tokens_per_s=-" in call.result.stats.line()


@pytest.mark.parametrize(
    ("status", "document", "message"),
    [
        (
            400,
            {"error": {"type": "BadRequest", "message": "prompt must be a string"}},
            "prompt must be a string",
        ),
        (403, {"Message": "Forbidden. For troubleshooting see the docs"}, "Forbidden. For troubleshooting"),
        (429, ["not an object"], "HTTP 429"),
    ],
)
def test_http_error_carries_server_message(
    server: ScriptedServer, status: int, document: object, message: str
) -> None:
    server.script = lambda h: h.json_reply(status, document)
    with pytest.raises(HttpStatusError) as info:
        open_stream(server.url, "hi")
    assert info.value.status == status
    assert message in info.value.message


def test_connection_cut_mid_stream_is_truncation(server: ScriptedServer) -> None:
    def script(h: ScriptedHandler) -> None:
        h.head(200, "text/event-stream")
        h.chunk(sse("delta", {"text": "partial"}))
        h.wfile.write(b"40\r\nonly a few bytes")
        h.cut()

    server.script = script
    call = open_stream(server.url, "hi")
    pieces: list[str] = []
    with pytest.raises(TruncatedStreamError, match="broke mid-stream"):
        pieces.extend(call)
    assert pieces == ["partial"]
    assert not call.result.complete and call.result.text == "partial"


def test_clean_end_without_done_is_truncation(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "x"}))
    with pytest.raises(TruncatedStreamError, match="without the final done"):
        list(stream_client.stream(server.url, "hi"))


def test_in_band_error_event(server: ScriptedServer) -> None:
    server.script = sse_script(
        ("delta", {"text": "x"}), ("error", {"type": "ModelStreamError", "message": "model broke"})
    )
    with pytest.raises(InBandError) as info:
        list(stream_client.stream(server.url, "hi"))
    assert info.value.error_type == "ModelStreamError" and info.value.message == "model broke"
    assert info.value.exit_code == 3


def test_in_band_error_record_ndjson(server: ScriptedServer) -> None:
    def script(h: ScriptedHandler) -> None:
        h.head(200, "application/x-ndjson")
        h.chunk(b'{"type": "delta", "text": "x"}\n')
        h.chunk(b'{"type": "error", "error": {"type": "ModelStreamError", "message": "model broke"}}\n')
        h.end()

    server.script = script
    pieces: list[str] = []
    with pytest.raises(InBandError) as info:
        pieces.extend(stream_client.stream(server.url, "hi", format="ndjson"))
    assert pieces == ["x"]
    assert info.value.error_type == "ModelStreamError" and info.value.message == "model broke"


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RequestFailedError):
        list(stream_client.stream(f"http://127.0.0.1:{port}/", "hi", connect_timeout=5))


@pytest.mark.parametrize(
    ("url", "prompt", "options"),
    [
        ("ftp://x/", "hi", {}),
        ("http://127.0.0.1:1/", "  ", {}),
        ("http://127.0.0.1:1/", "hi", {"max_tokens": 0}),
        ("http://127.0.0.1:1/", "hi", {"format": "xml"}),
        ("http://127.0.0.1:1/", "hi", {"colour": "red"}),
    ],
)
def test_usage_errors(url: str, prompt: str, options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        list(stream_client.stream(url, prompt, **options))


# --- the CLI as a subprocess ------------------------------------------------------------------------


def test_cli_prints_each_piece_as_it_arrives(server: ScriptedServer) -> None:
    gate, released = threading.Event(), list[bool]()
    server.script = gated_sse(gate, released)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream_client", server.url, "hi"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        cwd=REPO, env=hermetic_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.read(len("first "))  # blocks until the CLI flushed the first piece
        gate.set()
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert released == [True]
    assert first + rest == b"first second"
    assert proc.returncode == 0
    assert b"ttfb_ms=" in err and b"output_tokens=3 " in err


def test_cli_stdin_prompt_and_json(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "hey"}), ("done", DONE))
    done = run_cli(server.url, "--json", "--max-tokens", "5", stdin="from stdin\n")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["text"] == "hey" and summary["stats"]["output_tokens"] == 3
    assert json.loads(server.requests[0].body) == {"prompt": "from stdin\n", "maxTokens": 5}
    dash = run_cli(server.url, "-", stdin="dash prompt")
    assert dash.returncode == 0 and dash.stdout == "hey"
    assert json.loads(server.requests[1].body)["prompt"] == "dash prompt"


def test_cli_http_error_exit_1(server: ScriptedServer) -> None:
    server.script = lambda h: h.json_reply(
        400, {"error": {"type": "BadRequest", "message": "no prompt given"}}
    )
    done = run_cli(server.url, "hi")
    assert done.returncode == 1
    assert done.stderr.strip() == "python -m stream_client: HTTP 400: no prompt given"


def test_cli_truncated_exit_3(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "x"}))
    done = run_cli(server.url, "hi")
    assert done.returncode == 3 and done.stdout == "x"
    assert "truncated" in done.stderr and "bytes=" in done.stderr
    as_json = json.loads(run_cli(server.url, "hi", "--json").stdout)
    assert as_json["exit_code"] == 3 and as_json["error"]["kind"] == "TruncatedStreamError"


USAGE_ERRORS = [
    ["not-a-url", "hi"],
    ["http://127.0.0.1:1/", ""],
    ["http://127.0.0.1:1/", "hi", "--format", "xml"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.strip()


def test_cli_no_credentials_for_function_url_exit_2() -> None:
    done = run_cli("https://abc123.lambda-url.us-east-1.on.aws/", "hi")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no AWS credentials" in done.stderr


def test_cli_signs_when_asked(server: ScriptedServer) -> None:
    server.script = sse_script(("done", DONE))
    env = hermetic_env(AWS_ACCESS_KEY_ID="AKIDLOCALTEST", AWS_SECRET_ACCESS_KEY="secret")
    done = run_cli(server.url, "hi", "--sign", "--region", "eu-central-1", env=env)
    assert done.returncode == 0, done.stderr
    auth = server.requests[0].headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST/")
    assert "/eu-central-1/lambda/aws4_request" in auth
