"""Error replies never carry a stack trace or an internal path: every error class the handler, the runtime
and the emulator produce is provoked, and each body is JSON `{"error": {"type", "message"}}` and clean.

Contract for an unhandled handler exception before the first byte: 502 with the exception's class as
`type` and its own message as `message` (what the developer wrote); the stack trace only goes to the log.
Deployed, the Function URL answers such a failure with a generic 502 and no details at all.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.security.leak_scan import assert_no_internals, internal_leaks
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

HANDLERS = """
import time


def _deeper(depth):
    if depth == 0:
        raise RuntimeError("model adapter failed")
    return _deeper(depth - 1)


def early(event, context):
    return _deeper(3)


def late(event, context):
    yield "partial "
    _deeper(2)


def bad_item(event, context):
    yield object()


def not_json(event, context):
    return {1, 2}


def hangs(event, context):
    time.sleep(30)


def dispatch(event, context):
    return globals()[event["headers"]["x-scenario"]](event, context)
"""
BROKEN_IMPORT = "from json import no_such_name\n\n\ndef handler(event, context):\n    return 1\n"
BROKEN_SYNTAX = "def handler(event, context)\n    return 1\n"


def _assert_error_json(response: Response, status: int, error_type: str | None = None) -> dict[str, str]:
    assert response.status == status, response.body
    assert (response.header("content-type") or "").startswith("application/json")
    document = json.loads(response.body)
    assert set(document) == {"error"} and set(document["error"]) == {"type", "message"}, document
    if error_type is not None:
        assert document["error"]["type"] == error_type, document
    assert_no_internals(response.body)
    error: dict[str, str] = document["error"]
    return error


def test_the_detector_recognises_a_trace_and_paths() -> None:
    """Control: a real formatted stack trace, and each kind of path, is flagged."""
    import traceback

    try:
        json.loads("{")
    except ValueError:
        trace = traceback.format_exc()
    assert {"traceback", "stack frame", "python file path"} <= set(internal_leaks(trace))
    for text in ("/work/main/x", "/tmp/t/h.py", "see /usr/lib/x", '"stackTrace": []', "site-packages/a"):
        assert internal_leaks(text), text
    assert internal_leaks("Unable to import module 'x': No module named 'x'") == []
    for text in (
        'Could not connect to the endpoint URL: "http://127.0.0.1:9/model/m/converse-stream"',
        "HTTPConnectionPool(host='bedrock.internal', port=8443): Read timed out.",
        "upstream localhost:8080 refused",
    ):
        assert {"URL", "host:port"} & set(internal_leaks(text)), text
    assert internal_leaks("Bedrock closed the connection before answering") == []


# --- the Bedrock handler's own errors (400 ... 504) and the emulator's --------------------------------


@pytest.fixture(scope="module")
def bedrock_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(["--env", "MAX_REQUEST_BYTES=4096"]) as emulator:
        yield emulator


def _prompt(text: str) -> dict[str, object]:
    return {"prompt": text}


HANDLER_ERRORS: dict[str, tuple[dict[str, object] | bytes, str, int, str]] = {
    "broken JSON": (b'{"prompt": ', "/", 400, "invalid_request"),
    "empty body": (b"", "/", 400, "invalid_request"),
    "not an object": (b"[1, 2]", "/", 400, "invalid_request"),
    "unknown field": ({"prompt": "x", "extra": 1}, "/", 400, "invalid_request"),
    "bad modelId": ({"prompt": "x", "modelId": "../../etc/passwd"}, "/", 400, "invalid_request"),
    "bad maxTokens": ({"prompt": "x", "maxTokens": "many"}, "/", 400, "invalid_request"),
    "bad messages": ({"messages": [{"role": "system", "content": "x"}]}, "/", 400, "invalid_request"),
    "bad format": (_prompt("x"), "/?format=xml", 400, "invalid_request"),
    "too large": (_prompt("x" * 5000), "/", 413, "payload_too_large"),
    "throttled": (_prompt("x @stub:throttle"), "/", 429, "throttled"),
    "access denied": (_prompt("x @stub:access-denied"), "/", 502, "bedrock_access_denied"),
    "model not found": (_prompt("x @stub:not-found"), "/", 502, "bedrock_model_not_found"),
    "rejected": (_prompt("x @stub:nonsense"), "/", 502, "bedrock_rejected"),
    "unavailable": (_prompt("x @stub:unavailable"), "/", 503, "bedrock_unavailable"),
    "model timeout": (_prompt("x @stub:model-timeout"), "/", 504, "bedrock_timeout"),
}


@pytest.mark.parametrize("case", list(HANDLER_ERRORS))
def test_handler_errors_are_clean_json(bedrock_emulator: EmulatorProcess, case: str) -> None:
    body, path, status, error_type = HANDLER_ERRORS[case]
    headers = {"Content-Type": "application/json"}
    _assert_error_json(request(bedrock_emulator.url, path, body=body, headers=headers), status, error_type)


def test_wrong_method_and_media_type_are_clean_json(bedrock_emulator: EmulatorProcess) -> None:
    response = request(bedrock_emulator.url, "/", method="DELETE")
    _assert_error_json(response, 405, "method_not_allowed")
    assert response.header("allow") == "POST"
    response = request(bedrock_emulator.url, "/", body=b"x", headers={"Content-Type": "image/png"})
    _assert_error_json(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("fmt", ["sse", "ndjson"])
def test_mid_stream_error_events_are_clean(bedrock_emulator: EmulatorProcess, fmt: str) -> None:
    for directive in ("@stub:error-after=2", "@stub:drop-after=2"):
        response = request(bedrock_emulator.url, f"/?format={fmt}", body=_prompt(f"x {directive}"))
        assert response.status == 200
        assert b"error" in response.body, response.body  # the in-band error record is there
        assert_no_internals(response.body)


class _HangUp:
    """A Bedrock endpoint that accepts each connection and closes it unanswered (botocore's
    ConnectionClosedError, whose message quotes the endpoint URL)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


def test_bedrock_network_errors_do_not_name_the_endpoint() -> None:
    """botocore's connection errors carry the endpoint URL; the client gets a fixed message, for a
    connection closed unanswered, a read timeout, and (after the listener closes) a refused connection."""
    hang_up = _HangUp()
    env = ["--env", f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={hang_up.url}", "--env", "BEDROCK_MAX_ATTEMPTS=1"]
    try:
        with EmulatorProcess(env) as emulator:
            closed = request(emulator.url, "/?format=sse", body=_prompt("x"))
            _assert_error_json(closed, 502, "bedrock_stream_interrupted")
            hang_up.close()
            refused = request(emulator.url, "/?format=text", body=_prompt("x"))
            _assert_error_json(refused, 503, "bedrock_unavailable")
            # The operator still finds the endpoint in the function's log.
            emulator.wait_for_log(rf"ConnectionClosedError: .*{re.escape(hang_up.url)}")
    finally:
        hang_up.close()


def test_emulator_level_errors_are_clean_json(bedrock_emulator: EmulatorProcess) -> None:
    _assert_error_json(request(bedrock_emulator.url, "/_emulator/nope", method="GET"), 404, "NotFound")
    big = request(bedrock_emulator.url, "/", body=b"x" * (6 * 1024 * 1024 + 1))
    _assert_error_json(big, 413, "RequestEntityTooLargeException")
    _assert_error_json(_malformed_chunked(bedrock_emulator.url), 400, "BadRequest")


def _malformed_chunked(url: str) -> Response:
    parts = urlsplit(url)
    head = (
        f"POST / HTTP/1.1\r\nHost: {parts.netloc}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"zz-not-hex\r\nabc\r\n0\r\n\r\n")
        reader = sock.makefile("rb")
        status = int(reader.readline().split()[1])
        headers = []
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        response = Response(status=status, headers=headers)
        response.body = reader.read(int(response.header("Content-Length") or 0))
        return response


# --- unhandled exceptions and runtime faults in a handler of one's own --------------------------------


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("security_task_root")
    (root / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    (root / "broken_import.py").write_text(BROKEN_IMPORT)
    (root / "broken_syntax.py").write_text(BROKEN_SYNTAX)
    return root


@pytest.fixture(scope="module")
def own_emulator(task_root: Path) -> Iterator[EmulatorProcess]:
    args = ["--task-root", str(task_root), "--handler", "handlers.dispatch", "--timeout", "2"]
    with EmulatorProcess(args) as emulator:
        yield emulator


def _scenario(emulator: EmulatorProcess, name: str) -> Response:
    return request(emulator.url, "/", body={}, headers={"X-Scenario": name})


@pytest.mark.parametrize(
    ("scenario", "error_type", "message"),
    [
        ("early", "RuntimeError", "model adapter failed"),
        ("bad_item", "Runtime.InvalidStreamItem", "Streamed items must be bytes or str, got object"),
        ("not_json", "Runtime.MarshalError", None),
        ("hangs", "Sandbox.Timedout", "Task timed out after 2.00 seconds"),
    ],
)
def test_unhandled_failures_before_the_first_byte_are_502_without_trace(
    own_emulator: EmulatorProcess, scenario: str, error_type: str, message: str | None
) -> None:
    error = _assert_error_json(_scenario(own_emulator, scenario), 502, error_type)
    if message is not None:
        assert error["message"] == message


def test_the_trace_of_an_unhandled_exception_is_only_in_the_log(own_emulator: EmulatorProcess) -> None:
    response = _scenario(own_emulator, "early")
    request_id = response.header("x-amzn-RequestId")
    # The runtime's report (with its frames) is logged, which is where a developer looks for it.
    own_emulator.wait_for_log(rf"\[{request_id}\] error payload: .*stackTrace.*handlers\.py")
    assert b"handlers.py" not in response.body


def test_failure_after_the_first_byte_ends_the_body_without_trace(own_emulator: EmulatorProcess) -> None:
    response = _scenario(own_emulator, "late")
    assert (response.status, response.body) == (200, b"partial ")


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("broken_import.handler", "Runtime.ImportModuleError", "cannot import name 'no_such_name'"),
        ("broken_syntax.handler", "Runtime.UserCodeSyntaxError", "broken_syntax.py, line 1"),
        ("handlers.missing", "Runtime.HandlerNotFound", "missing"),
        ("no_such_module.handler", "Runtime.ImportModuleError", "no_such_module"),
    ],
)
def test_init_failures_are_502_without_paths(
    task_root: Path, handler: str, error_type: str, message: str
) -> None:
    with EmulatorProcess(["--task-root", str(task_root), "--handler", handler]) as emulator:
        error = _assert_error_json(request(emulator.url, "/", body={}), 502, error_type)
    assert message in error["message"]  # the file is named, but not where it lives


def test_bad_handler_configuration_is_502_without_paths() -> None:
    with EmulatorProcess(["--env", "MAX_TOKENS_LIMIT=lots"]) as emulator:
        error = _assert_error_json(request(emulator.url, "/", body=_prompt("x")), 502)
    assert error["type"] == "ConfigError"  # raised while importing the handler: the init phase
    assert "MAX_TOKENS_LIMIT must be an integer" in error["message"]
