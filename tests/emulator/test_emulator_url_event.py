"""The payload 2.0 event builder (PROTOCOL.md §3.2) and the CLI's argument handling."""

from __future__ import annotations

import base64
import re
import signal
import socket
import subprocess
import sys

import pytest

from emulator.config import ConfigError, parse_serve_args
from emulator.url_event import HttpRequest, build_event, format_time, is_text_body
from tests.support.emulator_process import REPO, hermetic_env, run_emulator


def _event(body: bytes = b"", content_type: str | None = None, target: str = "/p") -> dict[str, object]:
    headers = [("Host", "127.0.0.1:9"), *([("Content-Type", content_type)] if content_type else [])]
    request = HttpRequest(
        method="POST", target=target, headers=headers, body=body, source_ip="127.0.0.1", server_port=9
    )
    return build_event(request, request_id="rid", epoch_ms=1795849200000)


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True),
        ("text/event-stream; charset=utf-8", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_text_or_base64_rule(content_type: str | None, text: bool) -> None:
    assert is_text_body(content_type) is text
    event = _event(b"a=1", content_type)
    assert event["isBase64Encoded"] is (not text)
    assert event["body"] == ("a=1" if text else base64.b64encode(b"a=1").decode())


def test_invalid_utf8_text_falls_back_to_base64() -> None:
    event = _event(b"\xff\xfe", "text/plain")
    assert (event["body"], event["isBase64Encoded"]) == ("//4=", True)


def test_no_query_no_body_no_cookies() -> None:
    event = _event()
    assert "queryStringParameters" not in event and "cookies" not in event and "body" not in event
    assert (event["rawQueryString"], event["isBase64Encoded"]) == ("", False)


def test_query_decoding_and_paths() -> None:
    event = _event(target="/a%2Fb/c%20d?x=%41&x=b&empty=&sp=a+b")
    assert event["rawPath"] == "/a%2Fb/c%20d"
    assert event["requestContext"]["http"]["path"] == "/a/b/c d"  # type: ignore[index]
    assert event["queryStringParameters"] == {"x": "A,b", "empty": "", "sp": "a b"}


def test_time_format_is_english_and_utc() -> None:
    assert format_time(1795849200000) == "28/Nov/2026:07:00:00 +0000"
    assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000", format_time(0))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "NOEQUALS"], "NAME=VALUE"),
        (["--timeout", "0"], "--timeout"),
        (["--concurrency", "0"], "--concurrency"),
        (["--task-root", "/does/not/exist"], "--task-root"),
    ],
)
def test_bad_arguments_are_config_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_serve_args(argv)


def test_defaults() -> None:
    config = parse_serve_args([])
    assert (config.host, config.port, config.concurrency, config.timeout) == ("127.0.0.1", 3000, 1, 300.0)
    assert (config.invoke_mode, config.auth, config.bedrock) == ("RESPONSE_STREAM", "NONE", "stub")
    assert config.runtime_cmd == (str(REPO / "runtime" / "bootstrap"),)
    assert config.handler == "bedrock_handler.app.handler"


def test_cli_error_is_one_line_and_exit_2() -> None:
    result = run_emulator("serve", "--env", "BROKEN", timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("--env 'BROKEN' is not NAME=VALUE")


def test_bedrock_stub_subcommand() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "bedrock-stub", "--port", "0"],
        cwd=REPO,
        env=hermetic_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.fullmatch(r"Bedrock stand-in: http://127\.0\.0\.1:\d+\n", line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


@pytest.mark.parametrize("command", ["serve", "bedrock-stub"])
def test_port_in_use_is_a_one_line_error(command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_emulator(command, "--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: cannot start on 127.0.0.1: [Errno 98] Address already in use"
    ]
