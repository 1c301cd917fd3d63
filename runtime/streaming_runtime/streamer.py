"""Send a handler's pieces as one streamed response: first piece pulled early, error trailers, size cap."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from streaming_runtime import wire
from streaming_runtime.client import Invocation, ResponseStream, RuntimeApiClient
from streaming_runtime.errors import (
    ErrorPayload,
    FunctionError,
    InvalidStreamItem,
    ResponseSizeTooLarge,
    StreamInterruptedError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import Any

logger = logging.getLogger("streaming_runtime")


def stream_response(
    *,
    client: RuntimeApiClient,
    invocation: Invocation,
    content_type: str,
    prelude: bytes | None,
    pieces: Iterator[Any],
    max_bytes: int,
) -> None:
    """Stream `pieces` (bytes or str) as the response of `invocation`.

    The first piece is pulled before the POST is sent, so a handler failing at once gets a clean
    /error report; the POST's connection is opened before that pull, so the first byte does not wait
    for a TCP handshake. After the first byte, a failure becomes the two error trailers. Empty pieces
    are skipped because an empty chunk would end the body.
    """
    try:
        connection = client.preconnect()
        try:
            piece = next_piece(pieces)
        except Exception as exc:
            connection.close()
            report_error(client=client, invocation=invocation, exc=exc)
            return
        stream = client.open_stream(invocation, content_type=content_type, connection=connection)
        try:
            trailers = _write_all(
                stream=stream,
                prelude=prelude,
                first=piece,
                pieces=pieces,
                max_bytes=max_bytes,
                request_id=invocation.request_id,
            )
            stream.finish(trailers)
        except StreamInterruptedError as exc:
            # The stream has already closed its connection; the loop goes on if the API still answers.
            logger.error("Response stream interrupted: %s", exc)
    finally:
        close_quietly(pieces)


def _write_all(
    *,
    stream: ResponseStream,
    prelude: bytes | None,
    first: bytes | None,
    pieces: Iterator[Any],
    max_bytes: int,
    request_id: str,
) -> dict[str, str] | None:
    """Write the prelude and every piece; the trailers to end with (None for a clean end)."""
    sent = 0
    if prelude:
        stream.write(prelude)
        sent += len(prelude)
    piece = first
    write = stream.write
    while piece is not None:
        if sent + len(piece) > max_bytes:
            fault = ResponseSizeTooLarge(limit=max_bytes)
            logger.error("%s: %s", fault.error_type, fault)
            return wire.error_trailers(ErrorPayload.from_exception(fault, request_id=request_id).to_json())
        write(piece)
        sent += len(piece)
        try:
            piece = next_piece(pieces)
        except Exception as exc:
            payload = ErrorPayload.from_exception(exc, request_id=request_id)
            logger.error(
                "Handler failed mid-stream: %s: %s",
                payload.error_type,
                payload.error_message,
                exc_info=_traceback_of(exc),
            )
            return wire.error_trailers(payload.to_json())
    return None


def next_piece(pieces: Iterator[Any]) -> bytes | None:
    """The next non-empty piece as bytes (str is UTF-8 encoded), or None when the iterator is done."""
    for item in pieces:
        if type(item) is bytes:  # the common case first: this runs once per chunk
            data = item
        elif isinstance(item, str):
            data = item.encode("utf-8")
        elif isinstance(item, bytes | bytearray | memoryview):
            data = bytes(item)
        else:
            raise InvalidStreamItem(kind=type(item).__name__)
        if data:
            return data
    return None


def report_error(*, client: RuntimeApiClient, invocation: Invocation, exc: BaseException) -> None:
    """Log an invocation failure and POST it to /error (nothing of the response has been sent)."""
    payload = ErrorPayload.from_exception(exc, request_id=invocation.request_id)
    logger.error(
        "Invocation failed: %s: %s", payload.error_type, payload.error_message, exc_info=_traceback_of(exc)
    )
    client.post_error(invocation, payload=payload)


def _traceback_of(exc: BaseException) -> BaseException | None:
    """What to log a traceback of: not a `FunctionError`, which the handler raised on purpose."""
    return None if isinstance(exc, FunctionError) else exc


def close_quietly(pieces: Iterator[Any]) -> None:
    """Close a generator so its `finally` blocks run; an error while closing is only logged."""
    close = getattr(pieces, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        logger.warning("Closing the handler's iterator failed", exc_info=True)
