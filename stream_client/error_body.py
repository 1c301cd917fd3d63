"""Turns an HTTP error response into HttpStatusError carrying the server's own error message."""

from __future__ import annotations

import json
from typing import Any

import requests

from stream_client.errors import HttpStatusError

_ERROR_BODY_LIMIT = 64 * 1024


def http_error(response: requests.Response) -> HttpStatusError:
    """Read (a bounded part of) the error body and close the response."""
    body = b""
    try:
        for chunk in response.iter_content(chunk_size=8192):
            body += chunk
            if len(body) >= _ERROR_BODY_LIMIT:
                break
    except requests.RequestException:
        pass  # the status alone still tells the user what happened
    finally:
        response.close()
    error_type, message = error_fields(body)
    return HttpStatusError(
        status=response.status_code,
        error_type=error_type or response.reason or "HTTPError",
        message=message or f"HTTP {response.status_code} {response.reason or ''}".strip(),
    )


def error_fields(body: bytes) -> tuple[str | None, str | None]:
    """{"error": {"type", "message"}} from our handler; {"Message": …} from AWS's own URL front door."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace").strip().splitlines()
        return None, text[0][:500] if text else None
    if not isinstance(document, dict):
        return None, None
    error = document.get("error")
    if isinstance(error, dict):
        return _str_or_none(error.get("type")), _str_or_none(error.get("message"))
    return _str_or_none(document.get("__type")), _str_or_none(
        document.get("Message") or document.get("message")
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
