"""The process entry point: read the environment, load the handler (or report why not), run the loop."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from streaming_runtime.client import RuntimeApiClient
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.errors import (
    EXIT_CONFIG_ERROR,
    EXIT_INIT_ERROR,
    ConfigError,
    ErrorPayload,
    RuntimeApiError,
)
from streaming_runtime.handler_loader import load_handler
from streaming_runtime.logging_setup import configure_logging
from streaming_runtime.loop import serve

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from streaming_runtime.handler_loader import Handler

logger = logging.getLogger("streaming_runtime")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the runtime; returns the process exit status."""
    _unbuffer_output()
    try:
        config = RuntimeConfig.from_env(os.environ if environ is None else environ, argv=argv or sys.argv)
        client = RuntimeApiClient(address=config.runtime_api)
    except ConfigError as exc:
        print(f"streaming_runtime: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    configure_logging(log_format=config.log_format, log_level=config.log_level)
    try:
        handler = _load_handler_for_good(config)
    except Exception as exc:
        return _report_init_error(client, exc)
    if config.max_concurrency > 1:
        client.close()  # each worker opens its own connections
        # Imported here: the classic runtime's start-up never pays for the Managed Instances mode.
        from streaming_runtime.workers import WorkerPool  # noqa: PLC0415

        return WorkerPool(config=config, handler=handler, size=config.max_concurrency).serve()
    return serve(client, handler, config=config)


def _load_handler_for_good(config: RuntimeConfig) -> Handler:
    """Import the handler with the cyclic garbage collector paused, then freeze what init built.

    Init allocates tens of thousands of objects that live as long as the process (modules, classes, a
    Bedrock client); the collector would scan them some 70 times during the import to free nothing
    (~15 ms of a Bedrock handler's cold start, docs/performance.md). Frozen into the permanent
    generation, later full collections skip them too.
    """
    gc.disable()
    try:
        return load_handler(config.handler, task_root=config.task_root)
    finally:
        gc.freeze()
        gc.enable()


def _report_init_error(client: RuntimeApiClient, exc: Exception) -> int:
    payload = ErrorPayload.from_exception(exc)
    logger.critical("Init failed: %s: %s", payload.error_type, payload.error_message, exc_info=exc)
    try:
        client.post_init_error(payload=payload)
    except RuntimeApiError as api_exc:
        logger.critical("Could not report the init error: %s", api_exc)
    return EXIT_INIT_ERROR


def _unbuffer_output() -> None:
    # A handler's print() must reach the log at once even when the interpreter was started without -u.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True, write_through=True)


if __name__ == "__main__":
    sys.exit(main())
