"""The offline Bedrock stand-in: an HTTP server speaking ConverseStream and InvokeModelWithResponseStream
(and InvokeModel for the embedding models)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from streaming_runtime import wire

from emulator import eventstream, stub_embeddings, stub_models, stub_payloads
from emulator.http_base import EmulatorHTTPServer, NoDelayHandler
from emulator.stub_converse import converse_frames, plan_converse
from emulator.stub_frames import StubError, invoke_frames, plan_reply
from emulator.stub_replies import Directives, pre_stream_error
from emulator.stub_validation import check_converse_request

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse-stream|invoke-with-response-stream|invoke)$")
_MAX_BODY_BYTES = 25_000_000  # Bedrock's own limit for an InvokeModel body
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass(frozen=True, slots=True)
class StubRequest:
    """One request the stand-in received, kept so tests can check what a client sent."""

    operation: str
    model_id: str
    body: dict[str, Any]
    headers: dict[str, str]


class _StubServer(EmulatorHTTPServer):
    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _StubHandler)
        self.stopping = threading.Event()
        self.requests: list[StubRequest] = []
        self.requests_lock = threading.Lock()


class _StubHandler(NoDelayHandler):
    # NoDelayHandler: small frames must leave at once instead of waiting for a delayed ACK (TOOLCHAIN.md).
    server: _StubServer
    server_version = "BedrockStandIn/1.0"
    error_content_type = "application/json"
    error_message_format = '{"message": "%(message)s"}'

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        try:
            operation, model_id, body = self._read_request()
            self._serve(operation, model_id, body)
        except StubError as exc:
            self._send_error(exc.status, exc.code, exc.message)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._send_error(400, "ValidationException", f"unsupported path {self.path!r}")

    def _read_request(self) -> tuple[str, str, dict[str, Any]]:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= _MAX_BODY_BYTES:
            raise StubError(status=400, code="ValidationException", message="request body too large")
        raw = self.rfile.read(length)
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if match is None:
            raise StubError(status=400, code="ValidationException", message=f"unsupported path {self.path!r}")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise StubError(
                status=400, code="ValidationException", message="body is not valid JSON"
            ) from None
        if not isinstance(body, dict):
            raise StubError(status=400, code="ValidationException", message="body must be a JSON object")
        try:  # a lone surrogate escape (\ud800) parses, but is no Unicode text: Bedrock refuses it
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise StubError(
                status=400, code="ValidationException", message="body text is not valid Unicode"
            ) from None
        model_id = unquote(match["model"])
        with self.server.requests_lock:
            self.server.requests.append(StubRequest(match["op"], model_id, body, dict(self.headers.items())))
        return match["op"], model_id, body

    def _serve(self, operation: str, model_id: str, body: dict[str, Any]) -> None:
        frames: Iterator[tuple[str, bytes]]
        if operation == "invoke":
            self._embed(stub_embeddings.plan_embedding(model_id, body))
            return
        if operation == "converse-stream":
            converse = plan_converse(check_converse_request(model_id, body))
            directives, frames = converse.directives, converse_frames(converse)
        else:
            try:
                family = stub_models.model_family(model_id)
            except stub_models.UnknownFamilyError as exc:
                raise StubError(status=400, code="ValidationException", message=str(exc)) from None
            request = stub_payloads.read_invoke_request(family, body)
            reply = plan_reply(request.user_text, request.max_tokens)
            directives, frames = reply.directives, invoke_frames(family, reply)
        error = pre_stream_error(directives)
        if self._wait(directives.hang_ms):
            return
        if error is not None:
            raise StubError(status=error.status, code=error.code, message=error.message)
        self._stream(frames, directives, invoke=operation != "converse-stream")

    def _embed(self, reply: stub_embeddings.EmbeddingReply) -> None:
        """InvokeModel's one JSON answer (after any error or hang its texts' directives ask for)."""
        error = pre_stream_error(reply.directives)
        if self._wait(reply.directives.hang_ms):
            return
        if error is not None:
            raise StubError(status=error.status, code=error.code, message=error.message)
        self.send_response(200)
        for name, value in {**reply.headers, "Content-Length": str(len(reply.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _stream(self, frames: Iterator[tuple[str, bytes]], directives: Directives, *, invoke: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", eventstream.CONTENT_TYPE)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if invoke:
            self.send_header("X-Amzn-Bedrock-Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        deltas = 0
        for kind, frame in frames:
            if kind == "delta" and deltas in (directives.drop_after, directives.error_after):
                if deltas == directives.drop_after:
                    self.close_connection = True  # no last chunk: the client sees a cut-off body
                    return
                self._write_chunk(
                    eventstream.exception_message(
                        "modelStreamErrorException",
                        "The model failed mid-stream (stub).",
                        originalStatusCode=500,
                        originalMessage="stub error-after",
                    )
                )
                break
            if kind == "delta":
                if self._wait(directives.first_token_ms if deltas == 0 else directives.delay_ms):
                    return
                deltas += 1
            self._write_chunk(frame)
        self.wfile.write(wire.encode_last_chunk())
        self.wfile.flush()

    def _write_chunk(self, frame: bytes) -> None:
        self.wfile.write(wire.encode_chunk(frame))
        self.wfile.flush()

    def _wait(self, milliseconds: int) -> bool:
        """Sleep, but return True at once (abandoning the reply) when the stand-in is closing."""
        if milliseconds > 0 and self.server.stopping.wait(milliseconds / 1000):
            self.close_connection = True
            return True
        return False

    def _send_error(self, status: int, code: str, message: str) -> None:
        payload = json.dumps({"message": message}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", code + _ERROR_TYPE_SUFFIX)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class BedrockStub:
    """The stand-in, serving in a background thread: `BedrockStub.start()`, `.url`, `.close()` (or `with`)."""

    def __init__(self, server: _StubServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread
        self.url: str = f"http://{server.server_address[0]!s}:{server.port}"

    @classmethod
    def start(cls, *, host: str = "127.0.0.1", port: int = 0) -> BedrockStub:
        """Bind (port 0 = ephemeral) and serve in a daemon thread."""
        server = _StubServer((host, port))
        return cls(server, server.serve_in_thread("bedrock-stub"))

    @property
    def requests(self) -> list[StubRequest]:
        """The requests received so far (a copy), oldest first."""
        with self._server.requests_lock:
            return list(self._server.requests)

    def close(self) -> None:
        """Stop accepting, abandon sleeping replies, and release the port."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BedrockStub:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
