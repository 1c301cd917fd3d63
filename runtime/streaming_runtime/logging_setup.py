"""Logging per AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL, with the current request id on every record."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import TextIO

# Set by the loop for the duration of one invocation; read by the filter for every record.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
current_tenant_id: ContextVar[str | None] = ContextVar("current_tenant_id", default=None)

# Lambda's level names -> logging's (TRACE has no stdlib level; DEBUG is the nearest).
LOG_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
}


class RequestIdFilter(logging.Filter):
    """Adds `aws_request_id` (and `tenant_id`) to every record passing through the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = current_request_id.get() or ""
        record.tenant_id = current_tenant_id.get()
        return True


def _iso_timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, message, logger, requestId (+ tenantId, error)."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "timestamp": _iso_timestamp(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", ""),
        }
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id:
            document["tenantId"] = tenant_id
        if record.exc_info and record.exc_info[0] is not None:
            document["errorType"] = record.exc_info[0].__name__
            document["stackTrace"] = self.formatException(record.exc_info).splitlines()
        return json.dumps(document, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The managed runtime's text layout: `[LEVEL]\\ttimestamp\\trequestId\\tmessage`."""

    def __init__(self) -> None:
        super().__init__("[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_timestamp(record.created)


def configure_logging(*, log_format: str, log_level: str, stream: TextIO | None = None) -> None:
    """Install one handler on the root logger, so handler code's own logging gets the same treatment."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "JSON" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS.get(log_level.upper(), logging.INFO))
