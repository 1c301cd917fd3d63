"""`RuntimeApiClient`: the Runtime API endpoints, one method each, with PROTOCOL.md §1.3 status handling."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from streaming_runtime import wire
from streaming_runtime.errors import ConfigError, ErrorPayload, RuntimeApiError, StreamInterruptedError
from streaming_runtime.record import Record
from streaming_runtime.transport import Connection, HttpResponse, ProtocolError

logger = logging.getLogger("streaming_runtime")

# Statuses after which Lambda wants the runtime to log and carry on with /next (PROTOCOL.md §1.3).
_RECOVERABLE = frozenset({400, 403, 410, 413})


class Invocation(Record):
    """One event from GET /next: its request id, headers (lower-cased names) and raw body."""

    __slots__ = ("body", "headers", "request_id")
    request_id: str
    headers: Mapping[str, str]
    body: bytes

    def __init__(self, request_id: str, headers: Mapping[str, str], body: bytes) -> None:
        self._assign(request_id=request_id, headers=headers, body=body)

    @property
    def invocation_id(self) -> str | None:
        """The per-invoke nonce to echo on /response and /error, when Lambda sent one."""
        return self.headers.get(wire.HEADER_INVOCATION_ID.lower()) or None


def _echo(invocation: Invocation) -> list[tuple[str, str]]:
    """The nonce header Lambda wants back on /response and /error, when /next sent one."""
    invocation_id = invocation.invocation_id
    return [(wire.HEADER_INVOCATION_ID, invocation_id)] if invocation_id else []


class ResponseStream:
    """A streamed POST .../response on its own connection: one chunk per write, trailers at the end."""

    def __init__(self, *, connection: Connection, head: bytes, endpoint: str) -> None:
        self._connection = connection
        self._pending = head  # sent together with the first chunk: one syscall, one packet
        self._endpoint = endpoint

    def write(self, data: bytes) -> None:
        """Send one non-empty piece as one chunk, at once (one sendall per chunk)."""
        chunk = wire.encode_chunk(data)
        if self._pending:
            chunk, self._pending = self._pending + chunk, b""
        try:
            self._connection.send(chunk)
        except OSError as exc:
            self._connection.close()
            raise StreamInterruptedError(f"{self._endpoint}: connection lost mid-stream ({exc})") from exc

    def finish(self, trailers: Mapping[str, str] | None = None) -> None:
        """Send the terminating chunk (with trailers, if any), read Lambda's answer, close the connection."""
        try:
            self._connection.send(self._pending + wire.encode_last_chunk(trailers))
            self._pending = b""
            response = self._connection.read_response()
        except (OSError, ProtocolError) as exc:
            raise StreamInterruptedError(
                f"{self._endpoint}: connection lost before the answer ({exc})"
            ) from exc
        finally:
            # Lambda requires the runtime to close the connection that carried a streamed response.
            self._connection.close()
        check_status(self._endpoint, response)


class RuntimeApiClient:
    """The Runtime API at `host:port`: a persistent connection for /next and buffered posts."""

    def __init__(self, *, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"Runtime API address {address!r} is not host:port")
        self._host, self._port = host.strip("[]"), int(port)
        self._connection = Connection(host=self._host, port=self._port)

    def next(self) -> Invocation:
        """Block until Lambda hands over the next event (no timeout, by design)."""
        response = self._exchange("GET", wire.PATH_NEXT)
        if response.status != 200:
            raise RuntimeApiError(wire.PATH_NEXT, response.status, _text(response.body))
        headers = response.header_map()
        request_id = headers.get(wire.HEADER_REQUEST_ID.lower(), "")
        return Invocation(request_id=request_id, headers=headers, body=response.body)

    def post_response(self, invocation: Invocation, *, body: bytes, content_type: str) -> None:
        """POST a buffered response."""
        path = wire.response_path(invocation.request_id)
        headers = [("Content-Type", content_type), *_echo(invocation)]
        check_status(path, self._exchange("POST", path, headers=headers, body=body))

    def post_error(self, invocation: Invocation, *, payload: ErrorPayload) -> None:
        """POST an invocation error (before any response byte was sent)."""
        self._post_error(wire.error_path(invocation.request_id), payload, _echo(invocation))

    def post_init_error(self, *, payload: ErrorPayload) -> None:
        """POST an initialisation error; the caller exits afterwards."""
        self._post_error(wire.PATH_INIT_ERROR, payload, [])

    def preconnect(self) -> Connection:
        """The connection for the next streamed response, connected now if possible (nothing is sent).

        Opened while the handler produces its first piece, so the TCP handshake is off the first byte's
        path (AWS's Node.js runtime also connects its response request when the invocation starts);
        `open_stream` replaces it if it failed or went stale meanwhile.
        """
        connection = Connection(host=self._host, port=self._port)
        try:
            connection.connect()
        except OSError:
            connection.close()
        return connection

    def open_stream(
        self, invocation: Invocation, *, content_type: str, connection: Connection | None = None
    ) -> ResponseStream:
        """Start a streamed response on `connection` (from `preconnect`) if it is still open and idle,
        else on a new one; headers go out with the first chunk."""
        path = wire.response_path(invocation.request_id)
        if connection is None or not connection.idle_and_open():
            if connection is not None:
                connection.close()
            connection = Connection(host=self._host, port=self._port)
            try:
                connection.connect()
            except OSError as exc:
                raise RuntimeApiError(path, None, str(exc)) from exc
        headers = [
            (wire.HEADER_RESPONSE_MODE, wire.RESPONSE_MODE_STREAMING),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", wire.TRAILER_DECLARATION),
            ("Content-Type", content_type),
            *_echo(invocation),
        ]
        head = connection.head_bytes(method="POST", path=path, headers=headers)
        return ResponseStream(connection=connection, head=head, endpoint=path)

    def close(self) -> None:
        """Close the persistent connection."""
        self._connection.close()

    def _post_error(self, path: str, payload: ErrorPayload, extra: list[tuple[str, str]]) -> None:
        body = json.dumps(payload.to_json(), default=str).encode("utf-8")
        headers = [
            ("Content-Type", wire.CONTENT_TYPE_ERROR),
            (wire.HEADER_ERROR_TYPE, wire.header_value(payload.error_type)),
            *extra,
        ]
        check_status(path, self._exchange("POST", path, headers=headers, body=body))

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        try:
            return self._connection.request(method=method, path=path, headers=headers or [], body=body)
        except (OSError, ProtocolError) as exc:
            self._connection.close()
            raise RuntimeApiError(path, None, str(exc)) from exc


def check_status(endpoint: str, response: HttpResponse) -> None:
    """2xx: fine; 400/403/410/413: log and carry on; anything else (500): raise RuntimeApiError."""
    if 200 <= response.status < 300:
        return
    if response.status in _RECOVERABLE:
        logger.warning("Runtime API %s answered %d: %s", endpoint, response.status, _text(response.body))
        return
    raise RuntimeApiError(endpoint, response.status, _text(response.body))


def _text(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace")
