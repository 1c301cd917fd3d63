"""`RuntimeConfig`: all the runtime reads from its environment, read once from an injectable mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from streaming_runtime import wire
from streaming_runtime.errors import ConfigError
from streaming_runtime.logging_setup import LOG_LEVELS
from streaming_runtime.record import Record

# Internal knobs (leading underscore, like Lambda's own _HANDLER): tests and benchmarks use them.
ENV_MAX_RESPONSE_BYTES = "_STREAMING_RUNTIME_MAX_RESPONSE_BYTES"
ENV_MAX_INVOCATIONS = "_STREAMING_RUNTIME_MAX_INVOCATIONS"


class RuntimeConfig(Record):
    """The runtime's settings; see the environment-variable table in docs/configuration.md."""

    __slots__ = (
        "function_name",
        "function_version",
        "handler",
        "log_format",
        "log_group_name",
        "log_level",
        "log_stream_name",
        "max_concurrency",
        "max_invocations",
        "max_response_bytes",
        "memory_limit_in_mb",
        "runtime_api",
        "task_root",
    )
    runtime_api: str
    handler: str
    task_root: str
    function_name: str
    function_version: str
    memory_limit_in_mb: str
    log_group_name: str
    log_stream_name: str
    log_format: str
    log_level: str
    max_response_bytes: int
    max_invocations: int | None
    max_concurrency: int

    def __init__(
        self,
        *,
        runtime_api: str = "127.0.0.1:9001",
        handler: str = "",
        task_root: str = "/var/task",
        function_name: str = "",
        function_version: str = "$LATEST",
        memory_limit_in_mb: str = "128",
        log_group_name: str = "",
        log_stream_name: str = "",
        log_format: str = "Text",
        log_level: str = "INFO",
        max_response_bytes: int = wire.MAX_STREAMED_RESPONSE_BYTES,
        max_invocations: int | None = None,
        max_concurrency: int = 1,
    ) -> None:
        self._assign(
            runtime_api=runtime_api,
            handler=handler,
            task_root=task_root,
            function_name=function_name,
            function_version=function_version,
            memory_limit_in_mb=memory_limit_in_mb,
            log_group_name=log_group_name,
            log_stream_name=log_stream_name,
            log_format=log_format,
            log_level=log_level,
            max_response_bytes=max_response_bytes,
            max_invocations=max_invocations,
            max_concurrency=max_concurrency,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, *, argv: Sequence[str] = ()) -> RuntimeConfig:
        """Read the Lambda environment; the handler comes from argv[1] (image CMD) or `_HANDLER`."""
        runtime_api = environ.get("AWS_LAMBDA_RUNTIME_API", "")
        if not runtime_api:
            raise ConfigError("AWS_LAMBDA_RUNTIME_API is not set (expected host:port of the Runtime API)")
        handler = argv[1] if len(argv) > 1 and argv[1] else environ.get("_HANDLER", "")
        # Lambda Managed Instances: that many invocations at once in this environment (workers.py).
        max_concurrency = _positive_int(environ, "AWS_LAMBDA_MAX_CONCURRENCY") or 1
        # Lambda treats anything but JSON as text (case-insensitive), as the managed runtime does; Managed
        # Instances support JSON only, and concurrent invocations need the requestId on every line.
        json_logs = environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON" or max_concurrency > 1
        log_format = "JSON" if json_logs else "Text"
        log_level = environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"AWS_LAMBDA_LOG_LEVEL={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        return cls(
            runtime_api=runtime_api,
            handler=handler,
            task_root=environ.get("LAMBDA_TASK_ROOT", "/var/task"),
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            function_version=environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            memory_limit_in_mb=environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            log_group_name=environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
            log_format=log_format,
            log_level=log_level,
            max_response_bytes=_positive_int(environ, ENV_MAX_RESPONSE_BYTES)
            or wire.MAX_STREAMED_RESPONSE_BYTES,
            max_invocations=_positive_int(environ, ENV_MAX_INVOCATIONS),
            max_concurrency=max_concurrency,
        )


def _positive_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value
