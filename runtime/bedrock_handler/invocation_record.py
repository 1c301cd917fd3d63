"""The record of one invocation, filled in as it goes: its one structured log line and its one metrics
document (CloudWatch EMF), both written when it ends."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from bedrock_handler import http_event, metrics, routes
from bedrock_handler.config import HandlerConfig

LOGGER = logging.getLogger("bedrock_handler")
_EMBEDDINGS = routes.Endpoint.OPENAI_EMBEDDINGS  # produces no output tokens


class InvocationRecord:
    """The fields of the one structured log line and the one metrics document per invocation (filled in
    as the invocation goes)."""

    # A plain class, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start.
    __slots__ = (
        "api",
        "cache_read_tokens",
        "cache_write_tokens",
        "caller",
        "config",
        "door",
        "error_type",
        "first_token_ms",
        "guardrail_action",
        "input_tokens",
        "model_called",
        "model_id",
        "output_format",
        "output_tokens",
        "principal",
        "reasoning_deltas",
        "request_id",
        "started",
        "status",
        "stop_reason",
        "trace_header",
        "wall_clock",
    )

    def __init__(
        self,
        *,
        request_id: str,
        started: float,
        config: HandlerConfig,
        api: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.request_id = request_id
        self.started = started
        self.config = config
        self.wall_clock = wall_clock
        self.api = api  # the metrics' `Api` dimension: native or openai
        self.model_called = False  # whether a Bedrock call was made (its token counts are then metrics)
        self.reasoning_deltas = 0
        self.trace_header: str | None = None  # the invocation's X-Ray header (`Root=…;Parent=…`)
        self.status = 200
        self.model_id: str | None = None
        self.output_format: str | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.first_token_ms: int | None = None
        self.caller: str | None = None  # the OpenAI `user` label: a log field, never a metric dimension
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.guardrail_action: str | None = None  # a guardrail's stated reason (never the text it saw)
        self.door = http_event.FUNCTION_URL  # which front door the request came through
        self.principal: str | None = None  # who called (an id or ARN, never a key or token)

    def emit(self, clock: Callable[[], float]) -> None:
        """The log line, then (unless METRICS=off) the metrics document."""
        total_ms = elapsed_ms(self.started, clock)
        line = {
            "event": "invocation",
            "requestId": self.request_id,
            "status": self.status,
            "modelId": self.model_id,
            "format": self.output_format,
            "stopReason": self.stop_reason,
            "errorType": self.error_type,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheReadTokens": self.cache_read_tokens,
            "cacheWriteTokens": self.cache_write_tokens,
            "guardrailAction": self.guardrail_action,
            "firstTokenMs": self.first_token_ms,
            "totalMs": total_ms,
            "caller": self.caller,
            "door": self.door,
            "principal": self.principal,
        }
        LOGGER.info(json.dumps(line, separators=(",", ":")))
        if self.config.metrics == "emf":
            metrics.write(self._metrics_document(total_ms, int(self.wall_clock() * 1000)))

    def _metrics_document(self, total_ms: int, timestamp_ms: int) -> dict[str, object]:
        outcome = metrics.outcome(self.status, self.stop_reason, self.error_type)
        values = metrics.invocation_values(
            outcome_name=outcome,
            stop_reason=self.stop_reason,
            duration_ms=total_ms,
            first_token_ms=self.first_token_ms,
            model_called=self.model_called,
            input_tokens=self.input_tokens,
            output_tokens=None if self.output_format == _EMBEDDINGS else self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            reasoning_deltas=self.reasoning_deltas,
        )
        properties: dict[str, object] = {
            "RequestId": self.request_id,
            "Outcome": outcome,
            "Status": self.status,
            "StopReason": self.stop_reason,
            "ErrorType": self.error_type,
            "Format": self.output_format,
            "Door": self.door,
            "Principal": self.principal,
            "Caller": self.caller,
            "TraceId": metrics.trace_root(self.trace_header),
        }
        return metrics.document(
            namespace=self.config.metrics_namespace,
            function_name=self.config.function_name,
            timestamp_ms=timestamp_ms,
            api=self.api,
            model_id=self.model_id,
            values=values,
            properties=properties,
        )


def elapsed_ms(started: float, clock: Callable[[], float]) -> int:
    """Whole milliseconds from `started` to now, both on `clock`."""
    return round((clock() - started) * 1000)
