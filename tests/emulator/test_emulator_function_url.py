"""The Function URL front end to end: HTTP client -> `python -m emulator serve` -> raw-socket runtime."""

from __future__ import annotations

import itertools
import json
import re
import socket
from pathlib import Path
from typing import Any

from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "function_url_event.json"


def _scenario(**spec: Any) -> dict[str, Any]:
    return spec


def test_prelude_status_headers_and_cookies_are_applied(raw_emulator: EmulatorProcess) -> None:
    spec = _scenario(
        scenario="stream",
        chunks=2,
        status=201,
        headers={"content-type": "text/event-stream", "x-custom": "yes"},
        cookies=["sid=abc; Path=/; HttpOnly", "theme=dark"],
    )
    response = request(raw_emulator.url, "/chat", body=spec)
    assert response.status == 201
    assert response.header("content-type") == "text/event-stream"
    assert response.header("x-custom") == "yes"
    assert response.header_all("Set-Cookie") == ["sid=abc; Path=/; HttpOnly", "theme=dark"]
    assert response.header("Transfer-Encoding") == "chunked"
    assert re.fullmatch(r"[0-9a-f-]{36}", response.header("x-amzn-RequestId") or "")
    assert response.body == b"chunk-0;chunk-1;"


def test_chunks_reach_the_client_as_the_runtime_sends_them(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=10, delay_ms=50))
    assert response.status == 200
    assert response.header("content-type") == "text/plain"
    assert [data for _, data in response.chunks] == [f"chunk-{i};".encode() for i in range(10)]
    arrivals = [at for at, _ in response.chunks]
    # 9 pauses of 50 ms: a buffering front would deliver everything at once at the end.
    assert arrivals[-1] - arrivals[0] >= 0.3
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert sum(gap >= 0.02 for gap in gaps) >= 6


def test_mid_stream_error_ends_the_body_normally_and_is_logged(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="stream", chunks=3, fail=True))
    assert response.status == 200
    assert response.body == b"chunk-0;chunk-1;chunk-2;"  # complete chunked body, no error visible
    request_id = response.header("x-amzn-RequestId")
    raw_emulator.wait_for_log(rf"\[{request_id}\] mid-stream error Function\.Boom: went wrong mid-stream")
    assert request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=1)).body == b"chunk-0;"


def test_error_before_first_byte_is_502_json_without_stack(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="error"))
    assert response.status == 502
    assert response.header("content-type") == "application/json"
    assert response.json() == {"error": {"type": "Function.Custom", "message": "handler refused"}}
    assert b"secret frame" not in response.body
    raw_emulator.wait_for_log(r"error payload: .*secret frame")


def test_next_before_the_failed_post_is_accepted(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="early_next"))
    assert (response.status, response.body) == (200, b"partial")
    raw_emulator.wait_for_log(r"mid-stream error Function\.Late")
    assert (
        request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=2)).body == b"chunk-0;chunk-1;"
    )


def test_state_machine_answers_as_lambda_does(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="probe"))
    assert (response.status, response.json()) == (200, {"ok": 1})
    probe = json.loads(raw_emulator.wait_for_log(r"PROBE (\{.*\})").group(1))
    assert probe == {
        "unknown": 400,
        "bad_path": 404,
        "init_after_start": 403,
        "first": 202,
        "duplicate": 403,
        "error_after": 403,
    }


def test_invalid_response_mode(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="bad_mode"))
    assert response.status == 502
    assert response.json()["error"]["type"] == "Runtime.InvalidResponseModeHeader"
    raw_emulator.wait_for_log(r"BAD_MODE 400 .*InvalidFunctionResponseMode")


def test_buffered_response_over_6mb(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=_scenario(scenario="too_large"))
    assert response.status == 502
    assert response.json()["error"]["type"] == "Function.ResponseSizeTooLarge"
    raw_emulator.wait_for_log(r"TOO_LARGE 413 .*RequestEntityTooLarge")


def test_buffered_post_in_stream_mode_is_returned_verbatim(raw_emulator: EmulatorProcess) -> None:
    payload = {"statusCode": 404, "body": "not interpreted"}
    response = request(raw_emulator.url, "/", body=_scenario(scenario="buffered", payload=payload))
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == payload


def test_buffered_endpoint_interprets_payload_v2_response(raw_emulator: EmulatorProcess) -> None:
    payload = {
        "statusCode": 418,
        "headers": {"content-type": "text/plain", "x-a": "1"},
        "cookies": ["c=1", "d=2"],
        "body": "aGVsbG8=",
        "isBase64Encoded": True,
    }
    response = request(
        raw_emulator.url, "/_emulator/buffered/x", body=_scenario(scenario="buffered", payload=payload)
    )
    assert response.status == 418
    assert response.header("Content-Length") == "5"
    assert (response.header("content-type"), response.header("x-a")) == ("text/plain", "1")
    assert response.header_all("Set-Cookie") == ["c=1", "d=2"]
    assert response.body == b"hello"


def test_buffered_endpoint_applies_prelude_and_uses_the_inner_path(raw_emulator: EmulatorProcess) -> None:
    spec = _scenario(
        scenario="stream", chunks=3, delay_ms=10, status=202, headers={"content-type": "text/csv"}
    )
    response = request(raw_emulator.url, "/_emulator/buffered/data?x=1", body=spec)
    assert (response.status, response.header("content-type")) == (202, "text/csv")
    assert response.header("Content-Length") == str(len(b"chunk-0;chunk-1;chunk-2;"))
    assert response.body == b"chunk-0;chunk-1;chunk-2;"
    echo = request(raw_emulator.url, "/_emulator/buffered/inner/path?q=2", body=_scenario(scenario="echo"))
    event = echo.json()
    assert (event["rawPath"], event["rawQueryString"]) == ("/inner/path", "q=2")


def test_event_matches_the_shared_fixture(raw_emulator: EmulatorProcess) -> None:
    expected = json.loads(FIXTURE.read_text())
    body = json.dumps({"prompt": "Hello there", "maxTokens": 64, "scenario": "echo"})
    headers = [
        ("Accept", "text/event-stream"),
        ("Content-Type", "application/json"),
        ("Cookie", "sid=abc; theme=dark"),
        ("User-Agent", "fixture-client/1.0"),
        ("X-Multi", "v1"),
        ("X-Multi", "v2"),
    ]
    response = request(
        raw_emulator.url, "/chat/space%20value?format=sse&a=1&a=2", body=body.encode(), headers=headers
    )
    event = response.json()
    port = raw_emulator.url.rsplit(":", 1)[1].strip("/")
    # Normalise what changes per run: ids, times, and the ephemeral port.
    assert re.fullmatch(r"[0-9a-f-]{36}", event["requestContext"]["requestId"])
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", event["requestContext"]["time"])
    assert isinstance(event["requestContext"]["timeEpoch"], int)
    assert event["headers"].pop("host") == f"127.0.0.1:{port}"
    assert event["headers"].pop("x-forwarded-port") == port
    assert event["headers"].pop("content-length") == str(len(body))
    assert event["headers"].pop("connection") == "close"
    for volatile in ("requestId", "time", "timeEpoch"):
        event["requestContext"][volatile] = expected["requestContext"][volatile]
    expected["headers"].pop("host")
    expected["headers"].pop("x-forwarded-port")
    assert json.loads(event.pop("body")) == {**json.loads(expected.pop("body")), "scenario": "echo"}
    for key in expected:
        assert event[key] == expected[key], key
    assert set(event) == set(expected)


def test_binary_body_is_base64(raw_emulator: EmulatorProcess) -> None:
    event = request(
        raw_emulator.url, "/", body=b"\x00\xffbin", headers={"Content-Type": "application/octet-stream"}
    )
    # A base64 body cannot carry a scenario, so the raw runtime echoes the event.
    assert event.json()["body"] == "AP9iaW4="
    assert event.json()["isBase64Encoded"] is True


def test_request_body_over_6mb_is_413(raw_emulator: EmulatorProcess) -> None:
    response = request(raw_emulator.url, "/", body=b"x" * (6 * 1024 * 1024 + 1))
    assert response.status == 413
    assert response.json()["error"]["type"] == "RequestEntityTooLargeException"


def test_health_chat_page_and_unknown_emulator_path(raw_emulator: EmulatorProcess) -> None:
    health = request(raw_emulator.url, "/_emulator/health", method="GET")
    assert health.status == 200
    document = health.json()
    assert document["status"] == "ok" and document["concurrency"] == 1
    assert isinstance(document["sandboxes"][0]["pid"], int)
    missing = request(raw_emulator.url, "/_emulator/nothing-here", method="GET")
    assert (missing.status, missing.json()["error"]["type"]) == (404, "NotFound")
    page = request(raw_emulator.url, "/_emulator/", method="GET")
    chat = Path(__file__).resolve().parents[2] / "emulator" / "chat.html"
    if chat.exists():
        assert (page.status, page.header("content-type")) == (200, "text/html; charset=utf-8")
        assert page.body == chat.read_bytes()
    else:
        assert (page.status, page.json()["error"]["type"]) == (404, "NotFound")


def test_crash_gives_502_and_the_runtime_is_restarted(raw_emulator: EmulatorProcess) -> None:
    before = request(raw_emulator.url, "/_emulator/health", method="GET").json()["sandboxes"][0]["pid"]
    response = request(raw_emulator.url, "/", body=_scenario(scenario="crash"))
    assert response.status == 502
    assert response.json()["error"] == {
        "type": "Runtime.ExitError",
        "message": "Runtime exited with error: exit status 3",
    }
    assert request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=1)).body == b"chunk-0;"
    after = request(raw_emulator.url, "/_emulator/health", method="GET").json()["sandboxes"][0]["pid"]
    assert after != before


def test_crash_mid_stream_ends_the_body(raw_emulator: EmulatorProcess) -> None:
    for _ in range(3):  # the next request races the dying runtime; it must reach a fresh one
        response = request(raw_emulator.url, "/", body=_scenario(scenario="crash_mid_stream"))
        assert (response.status, response.body) == (200, b"before-crash")
        assert request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=1)).body == b"chunk-0;"


def test_start_end_report_lines(raw_emulator: EmulatorProcess) -> None:
    request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=1))
    response = request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=1))
    request_id = response.header("x-amzn-RequestId")
    raw_emulator.wait_for_log(rf"START RequestId: {request_id} Version: \$LATEST")
    raw_emulator.wait_for_log(rf"END RequestId: {request_id}")
    report = raw_emulator.wait_for_log(
        rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 1024 MB\tMax Memory Used: (\d+) MB(.*)"
    )
    assert int(report.group(1)) > 0
    # Init Duration appears once per runtime process: on its first invocation only.
    assert "Init Duration" not in report.group(2)
    assert re.search(r"REPORT RequestId: [^\t]+\t.*\tInit Duration: [\d.]+ ms", raw_emulator.log())


def test_client_disconnect_mid_stream_does_not_block_the_pool(raw_emulator: EmulatorProcess) -> None:
    host, port = raw_emulator.url.split("//", 1)[1].strip("/").split(":")
    body = json.dumps(_scenario(scenario="plain", chunks=10, delay_ms=50)).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        head += "\r\n"
        sock.sendall(head.encode() + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    raw_emulator.wait_for_log(r"client disconnected; draining")
    # With concurrency 1 the next request needs the same sandbox: it must be freed once the runtime ends.
    assert (
        request(raw_emulator.url, "/", body=_scenario(scenario="plain", chunks=2)).body == b"chunk-0;chunk-1;"
    )
