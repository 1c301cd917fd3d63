"""A custom Lambda runtime written with raw sockets, used as `--runtime-cmd` in the emulator tests.

It is deliberately a different client from `streaming_runtime`: it frames requests by hand the way
AWS's Node.js runtime client does (PROTOCOL.md §10: two `Trailer:` lines, lowercase hex chunk sizes,
one write per chunk, `/next` on another connection before the previous POST is finished). The event
body (JSON) picks a scenario: {"scenario": "stream", "chunks": 10, "delay_ms": 50, ...}.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, PORT = API.rsplit(":", 1)
PREFIX = "/2018-06-01/runtime"
INTEGRATION = "application/vnd.awslambda.http-integration-response"


def connect() -> socket.socket:
    sock = socket.create_connection((HOST, int(PORT)), timeout=None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def send_next_request(sock: socket.socket) -> None:
    sock.sendall(f"GET {PREFIX}/invocation/next HTTP/1.1\r\nHost: {API}\r\n\r\n".encode())


def post(path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    sock = connect()
    lines = [f"POST {path} HTTP/1.1", f"Host: {API}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    status, _, reply = read_reply(sock)
    sock.close()
    return status, reply


def stream_post(request_id: str, content_type: str, mode: str = "streaming") -> socket.socket:
    sock = connect()
    head = (
        f"POST {PREFIX}/invocation/{request_id}/response HTTP/1.1\r\n"
        f"Lambda-Runtime-Function-Response-Mode: {mode}\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Body\r\n"
        f"Content-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n"
        f"Host: {API}\r\nConnection: keep-alive\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


def chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(b"%x\r\n%b\r\n" % (len(data), data))


def error_trailers(error_type: str, message: str) -> bytes:
    body = base64.b64encode(
        json.dumps({"errorType": error_type, "errorMessage": message, "trace": []}).encode()
    )
    return (
        f"0\r\nLambda-Runtime-Function-Error-Type: {error_type}\r\n"
        f"Lambda-Runtime-Function-Error-Body: {body.decode()}\r\n\r\n"
    ).encode()


def prelude(spec: dict[str, Any]) -> bytes:
    document = {
        "statusCode": spec.get("status", 200),
        "headers": spec.get("headers", {}),
        "cookies": spec.get("cookies", []),
    }
    return json.dumps(document).encode()


def handle(request_id: str, event: dict[str, Any], next_sock: socket.socket) -> bool:  # noqa: PLR0912 - one branch per scenario
    """Run one scenario; returns True when it already sent the next GET /next on `next_sock`."""
    spec = json.loads(event.get("body") or "{}") if not event.get("isBase64Encoded") else {}
    scenario = spec.get("scenario", "echo")
    if scenario == "echo":
        post(
            f"{PREFIX}/invocation/{request_id}/response",
            json.dumps(event).encode(),
            {"Content-Type": "application/json"},
        )
    elif scenario in ("stream", "plain"):
        sock = stream_post(request_id, INTEGRATION if scenario == "stream" else "text/plain")
        if scenario == "stream":
            chunk(sock, prelude(spec))
            chunk(sock, b"\x00" * 8)
        for index in range(spec.get("chunks", 3)):
            if index:
                time.sleep(spec.get("delay_ms", 0) / 1000)
            chunk(sock, f"chunk-{index};".encode())
        if spec.get("fail"):
            sock.sendall(error_trailers("Function.Boom", "went wrong mid-stream"))
        else:
            sock.sendall(b"0\r\n\r\n")
        read_reply(sock)
        sock.close()
    elif scenario == "early_next":
        # Node RIC behaviour: ask for the next event before the failed stream's POST is even sent.
        send_next_request(next_sock)
        sock = stream_post(request_id, "text/plain")
        chunk(sock, b"partial")
        time.sleep(0.1)
        sock.sendall(error_trailers("Function.Late", "failed after the next /next"))
        read_reply(sock)
        sock.close()
        return True
    elif scenario == "error":
        body = json.dumps(
            {
                "errorType": "Function.Custom",
                "errorMessage": "handler refused",
                "stackTrace": ["secret frame"],
            }
        )
        post(
            f"{PREFIX}/invocation/{request_id}/error",
            body.encode(),
            {"Lambda-Runtime-Function-Error-Type": "Unhandled"},
        )
    elif scenario == "buffered":
        post(
            f"{PREFIX}/invocation/{request_id}/response",
            json.dumps(spec["payload"]).encode(),
            {"Content-Type": spec.get("content_type", "application/json")},
        )
    elif scenario == "probe":
        results = {
            "unknown": post(f"{PREFIX}/invocation/nope/response", b"x")[0],
            "bad_path": post(f"{PREFIX}/invocation/{request_id}/nonsense", b"x")[0],
            "init_after_start": post(f"{PREFIX}/init/error", b"{}")[0],
        }
        results["first"] = post(f"{PREFIX}/invocation/{request_id}/response", b'{"ok":1}')[0]
        results["duplicate"] = post(f"{PREFIX}/invocation/{request_id}/response", b'{"ok":2}')[0]
        results["error_after"] = post(f"{PREFIX}/invocation/{request_id}/error", b"{}")[0]
        print("PROBE " + json.dumps(results), file=sys.stderr, flush=True)
    elif scenario == "bad_mode":
        sock = stream_post(request_id, "text/plain", mode="bogus")
        sock.sendall(b"0\r\n\r\n")
        status, _, reply = read_reply(sock)
        print(f"BAD_MODE {status} {reply.decode()}", file=sys.stderr, flush=True)
    elif scenario == "too_large":
        status, reply = post(f"{PREFIX}/invocation/{request_id}/response", b"x" * (6 * 1024 * 1024 + 101))
        print(f"TOO_LARGE {status} {reply.decode()}", file=sys.stderr, flush=True)
    elif scenario == "crash":
        os._exit(3)
    elif scenario == "hang":
        time.sleep(3600)
    elif scenario == "crash_mid_stream":
        sock = stream_post(request_id, "text/plain")
        chunk(sock, b"before-crash")
        time.sleep(0.2)
        os._exit(4)
    return False


def main() -> None:
    if os.environ.get("RAW_RUNTIME_INIT_ERROR"):
        body = json.dumps(
            {"errorType": "Runtime.ImportModuleError", "errorMessage": "Unable to import module 'nope'"}
        )
        post(
            f"{PREFIX}/init/error",
            body.encode(),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
        )
        sys.exit(1)
    print(
        f"raw runtime ready pid={os.getpid()} handler={os.environ.get('_HANDLER')}",
        file=sys.stderr,
        flush=True,
    )
    serve(handle)


def serve(handler: Callable[[str, dict[str, Any], socket.socket], bool]) -> None:
    """The loop: GET /next on a connection of its own, then `handler`; exits when /next is refused."""
    next_sock = connect()
    already_asked = False
    while True:
        if not already_asked:
            send_next_request(next_sock)
        status, headers, event_bytes = read_reply(next_sock)
        if status != 200:
            sys.exit(1)
        already_asked = handler(headers["lambda-runtime-aws-request-id"], json.loads(event_bytes), next_sock)


if __name__ == "__main__":
    main()
