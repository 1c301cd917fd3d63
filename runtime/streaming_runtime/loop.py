"""The invocation loop: GET /next, handle the event, repeat; only a Runtime API failure ends it."""

from __future__ import annotations

import logging

from streaming_runtime.async_bridge import AsyncBridge
from streaming_runtime.client import RuntimeApiClient
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.errors import EXIT_OK, EXIT_RUNTIME_API_ERROR, RuntimeApiError
from streaming_runtime.invocation import handle_invocation

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from streaming_runtime.handler_loader import Handler

logger = logging.getLogger("streaming_runtime")


def run(
    client: RuntimeApiClient,
    handler: Handler,
    *,
    max_invocations: int | None = None,
    config: RuntimeConfig | None = None,
) -> int:
    """Serve invocations until `max_invocations` (forever when None); returns how many were served.

    Handler failures are reported and the loop goes on; a RuntimeApiError (500, API gone) propagates.
    """
    settings = config or RuntimeConfig()
    bridge = AsyncBridge()
    served = 0
    try:
        while max_invocations is None or served < max_invocations:
            invocation = client.next()
            served += 1
            if not invocation.request_id:
                # Without a request id there is nowhere to report to; Lambda will time the invoke out.
                logger.error("GET /next answered without a request id; skipping the event")
                continue
            handle_invocation(
                client=client, handler=handler, invocation=invocation, config=settings, bridge=bridge
            )
    finally:
        bridge.close()
    return served


def serve(client: RuntimeApiClient, handler: Handler, *, config: RuntimeConfig) -> int:
    """`run` until it ends, then close the client; the process exit status (a Runtime API failure is
    logged and gives EXIT_RUNTIME_API_ERROR)."""
    try:
        run(client, handler, max_invocations=config.max_invocations, config=config)
    except RuntimeApiError as exc:
        logger.critical("Stopping: %s", exc)
        return EXIT_RUNTIME_API_ERROR
    finally:
        client.close()
    return EXIT_OK
