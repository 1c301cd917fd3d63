"""A direct invocation's event (Lambda `Invoke` / `InvokeWithResponseStream`, no HTTP): the API it asks for,
the native output format and the request body, read into the `HttpRequest` an HTTP door would have made
of the same body, so both are judged by the same parsers.

The event is one JSON object: the API's request body plus two optional reserved keys, removed before the
body is read: `api` (`native`, the default, or `openai`: a Chat Completions body) and `format` (native
only: `text`, the default, or `ndjson`); null means not given. Anything else in the object is the body.
"""

from __future__ import annotations

import json
from typing import Any

from bedrock_handler.errors import RequestError
from bedrock_handler.http_event import HttpRequest

DIRECT = "direct"  # the door of a direct invocation (http_event.FUNCTION_URL, rest_event.REST_API)
API_KEY, FORMAT_KEY = "api", "format"
NATIVE, OPENAI = "native", "openai"
FORMATS = ("text", "ndjson")
# The path whose endpoint each API's body is for (see routes.route).
_PATHS = {NATIVE: "/", OPENAI: "/v1/chat/completions"}
_JSON = {"content-type": "application/json"}


def api_of(event: object) -> str:
    """The API an event asks for: `openai` when it says so, else `native` (also for a refused value, so
    a refusal is still counted under an API)."""
    return OPENAI if type(event) is dict and event.get(API_KEY) == OPENAI else NATIVE


def request_of(event: object) -> HttpRequest:
    """The `POST` request of a direct event: the body (the event without `api` and `format`) as compact
    JSON, for `/` with `?format=` (native) or for `/v1/chat/completions` (OpenAI).

    Raises `RequestError` for an event that is no JSON object or a reserved key of the wrong value; the
    body itself is judged later, by the API's own parser, as over HTTP.
    """
    if type(event) is not dict:
        raise RequestError(
            f"a direct invocation's event must be a JSON object (the request body), not {_kind(event)}"
        )
    body = dict(event)
    api = body.pop(API_KEY, None)
    fmt = body.pop(FORMAT_KEY, None)
    if api is None:
        api = NATIVE
    elif not (isinstance(api, str) and api in _PATHS):
        raise RequestError(f"{API_KEY} must be one of {NATIVE}, {OPENAI}", param=API_KEY)
    query: dict[str, str] = {}
    if fmt is not None:
        if api == OPENAI:
            raise RequestError(
                f"{FORMAT_KEY} is for the native API; an OpenAI request streams with stream: true",
                param=FORMAT_KEY,
            )
        if not (isinstance(fmt, str) and fmt in FORMATS):
            raise RequestError(f"{FORMAT_KEY} must be one of {', '.join(FORMATS)}", param=FORMAT_KEY)
        query["format"] = fmt
    return HttpRequest(
        method="POST",
        path=_PATHS[api],
        headers=_JSON,
        query=query,
        raw_body=_json_text(body),
        base64_body=False,
        door=DIRECT,
    )


def _json_text(body: dict[str, Any]) -> str:
    """The body as compact JSON, so its size is judged against MAX_REQUEST_BYTES as an HTTP body's is.

    UTF-8 as sent over HTTP; but a lone surrogate (a `\\ud800` escape in the event) cannot be UTF-8, so
    such a body keeps its escapes, as an HTTP body holding them does.
    """
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = json.dumps(body, separators=(",", ":"))
    except RecursionError:
        raise RequestError("body JSON is nested too deeply") from None
    return text


def _kind(value: object) -> str:
    """The JSON kind of a decoded value, for a refusal's message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__
