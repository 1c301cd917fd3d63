"""Handle one invocation: set its context, call the handler, and deliver the result buffered or streamed."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

from streaming_runtime import wire
from streaming_runtime.async_bridge import AsyncBridge
from streaming_runtime.client import Invocation, RuntimeApiClient
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.context import InvocationContext
from streaming_runtime.errors import MarshalError, UnmarshalError
from streaming_runtime.logging_setup import current_request_id, current_tenant_id
from streaming_runtime.response import RawStreamingResponse, StreamingResponse
from streaming_runtime.streamer import report_error, stream_response

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import Any

    from streaming_runtime.handler_loader import Handler

logger = logging.getLogger("streaming_runtime")

TRACE_ID_ENV = "_X_AMZN_TRACE_ID"
CONTENT_TYPE_TEXT = "text/plain; charset=utf-8"


def handle_invocation(
    *,
    client: RuntimeApiClient,
    handler: Handler,
    invocation: Invocation,
    config: RuntimeConfig,
    bridge: AsyncBridge,
) -> None:
    """Run the handler for one event and report its result or error; only RuntimeApiError escapes."""
    headers = invocation.headers
    trace_id = headers.get(wire.HEADER_TRACE_ID.lower())
    # X-Ray SDKs read the trace id from the environment; a stale one must never leak into the next invoke.
    if trace_id:
        os.environ[TRACE_ID_ENV] = trace_id
    else:
        os.environ.pop(TRACE_ID_ENV, None)
    request_token = current_request_id.set(invocation.request_id)
    tenant_token = current_tenant_id.set(headers.get(wire.HEADER_TENANT_ID.lower()) or None)
    try:
        logger.debug("Event for %s: %r", invocation.request_id, invocation.body[:4096])
        try:
            context = InvocationContext.from_headers(headers, config)
            result = handler(_decode_event(invocation.body), context)
            if hasattr(result, "__await__"):
                result = bridge.run(result)
        except Exception as exc:
            report_error(client=client, invocation=invocation, exc=exc)
            return
        _deliver(client=client, invocation=invocation, result=result, config=config, bridge=bridge)
    finally:
        os.environ.pop(TRACE_ID_ENV, None)
        current_tenant_id.reset(tenant_token)
        current_request_id.reset(request_token)


def _deliver(
    *,
    client: RuntimeApiClient,
    invocation: Invocation,
    result: Any,
    config: RuntimeConfig,
    bridge: AsyncBridge,
) -> None:
    """Stream a StreamingResponse (prelude first), a RawStreamingResponse (its own Content-Type, no
    prelude), an (async) iterator or generator; post anything else buffered."""
    prelude: bytes | None = None
    if isinstance(result, StreamingResponse):
        content_type, prelude = wire.CONTENT_TYPE_HTTP_INTEGRATION, result.prelude()
        pieces = _pieces(result.body, bridge)
    elif isinstance(result, RawStreamingResponse):
        content_type, pieces = result.content_type, _pieces(result.body, bridge)
    elif hasattr(result, "__aiter__"):
        content_type, pieces = wire.CONTENT_TYPE_OCTET_STREAM, bridge.iterate(result)
    elif isinstance(result, Iterator):
        content_type, pieces = wire.CONTENT_TYPE_OCTET_STREAM, result
    else:
        _post_buffered(client=client, invocation=invocation, result=result)
        return
    stream_response(
        client=client,
        invocation=invocation,
        content_type=content_type,
        prelude=prelude,
        pieces=pieces,
        max_bytes=config.max_response_bytes,
    )


def _post_buffered(*, client: RuntimeApiClient, invocation: Invocation, result: Any) -> None:
    """bytes as they are, str as UTF-8 text, anything else as JSON (or a MarshalError report)."""
    if isinstance(result, bytes | bytearray | memoryview):
        body, content_type = bytes(result), wire.CONTENT_TYPE_OCTET_STREAM
    elif isinstance(result, str):
        body, content_type = result.encode("utf-8"), CONTENT_TYPE_TEXT
    else:
        try:
            body = json.dumps(result).encode("utf-8")
        except (TypeError, ValueError) as exc:
            report_error(client=client, invocation=invocation, exc=MarshalError(reason=str(exc)))
            return
        content_type = wire.CONTENT_TYPE_JSON
    client.post_response(invocation, body=body, content_type=content_type)


def _pieces(body: Any, bridge: AsyncBridge) -> Iterator[Any]:
    """A plain iterator over a StreamingResponse body, sync or async; a non-iterable fails on first pull."""
    if hasattr(body, "__aiter__"):
        return bridge.iterate(body)
    if isinstance(body, str | bytes):
        return iter((body,))
    return _lazy_iter(body)


def _lazy_iter(body: Any) -> Iterator[Any]:
    # iter() inside a generator: a TypeError surfaces when the first piece is pulled, i.e. as /error.
    yield from body


def _decode_event(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than the parser allows
        raise UnmarshalError(reason=str(exc)) from None
