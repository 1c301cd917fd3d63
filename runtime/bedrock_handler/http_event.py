"""The HTTP request inside a Function URL (payload 2.0) or API Gateway REST (payload 1.0) event: `HttpRequest`
with the door it came through and the caller's principal, and its body decoded and size-checked on demand."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from bedrock_handler import rest_event
from bedrock_handler.errors import RequestError

FUNCTION_URL = "function-url"  # the door of a payload 2.0 event (rest_event.REST_API: payload 1.0)


class HttpRequest:
    """Method, path, lower-cased headers, query and the still-encoded body of one request; the door it
    came through (`FUNCTION_URL` or `rest_event.REST_API`) and who called (`principal`: never a secret)."""

    # A slotted class: a dataclass costs ~0.7 ms and a NamedTuple ~0.06 ms of every cold start to define.
    __slots__ = ("base64_body", "door", "headers", "method", "path", "principal", "query", "raw_body")

    def __init__(
        self,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, Any],
        raw_body: object,
        base64_body: bool,
        door: str = FUNCTION_URL,
        principal: str | None = None,
    ) -> None:
        self.method, self.path, self.headers, self.query = method, path, headers, query
        self.raw_body, self.base64_body = raw_body, base64_body
        self.door, self.principal = door, principal

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (JSON when absent)."""
        return self.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        """Whether the Content-Type is JSON (`application/json` or a `+json` type)."""
        media_type = self.media_type
        return media_type == "application/json" or media_type.endswith("+json")

    def body_text(self, *, max_bytes: int) -> str:
        """The body as non-blank text: base64 decoded, at most `max_bytes`, valid UTF-8."""
        body = self.raw_body or ""
        if not isinstance(body, str):
            raise RequestError("event body is not a string")
        too_large = RequestError(
            f"request body exceeds {max_bytes} bytes", status=413, error_type="payload_too_large"
        )
        if self.base64_body:
            if len(body) > (max_bytes + 2) // 3 * 4 + 4:  # checked before decoding: huge bodies cost nothing
                raise too_large
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise RequestError("body is not valid base64") from None
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > max_bytes:
            raise too_large
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("body is not valid UTF-8") from None
        if not text.strip():
            raise RequestError("request body is empty")
        return text


def json_object(text: str) -> dict[str, Any]:
    """A request body that must be one JSON object."""
    try:
        document = json.loads(text)
    except ValueError:
        raise RequestError("body is not valid JSON") from None
    except RecursionError:
        raise RequestError("body JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise RequestError("JSON body must be an object")
    return document


def from_event(event: object) -> HttpRequest | None:
    """The request of a REST API event (payload 1.0: it has `httpMethod`) or a Function URL event (payload
    2.0: its `requestContext.http` is an object), told apart in that order; None for any other event (API
    Gateway's completion notification, or a direct invocation: see `invocation.respond`). Never raises."""
    event = _object(event)
    if "httpMethod" in event:
        return HttpRequest(**rest_event.request_fields(event))
    context = _object(event.get("requestContext"))
    http = context.get("http")
    if type(http) is not dict and not isinstance(http, Mapping):
        return None
    return _function_url(event, context, http)


def from_function_url(event: object) -> HttpRequest:
    """The request of a Function URL event. Never raises: a part that is missing or of the wrong type is
    treated as absent and judged later by the endpoint."""
    event = _object(event)
    context = _object(event.get("requestContext"))
    return _function_url(event, context, _object(context.get("http")))


def _function_url(
    event: Mapping[str, Any], context: Mapping[str, Any], http: Mapping[str, Any]
) -> HttpRequest:
    path = event.get("rawPath")
    authorizer = context.get("authorizer")  # only on an AWS_IAM URL
    return HttpRequest(
        method=str(http.get("method", "")).upper(),
        path=path if isinstance(path, str) else str(http.get("path") or "/"),
        headers={str(k).lower(): str(v) for k, v in _object(event.get("headers")).items()},
        query=_object(event.get("queryStringParameters")),
        raw_body=event.get("body"),
        base64_body=bool(event.get("isBase64Encoded")),
        principal=_iam_principal(authorizer) if authorizer else None,
    )


def _iam_principal(authorizer: object) -> str | None:
    """`iam:<userArn>` of an AWS_IAM Function URL's `requestContext.authorizer.iam`."""
    return rest_event.principal_of("iam", _object(_object(authorizer).get("iam")).get("userArn"))


def _object(value: object) -> Mapping[str, Any]:
    # `type(...) is dict` first: an event's objects are dicts, and the ABC check alone costs ~0.1 us a call.
    return value if type(value) is dict or isinstance(value, Mapping) else {}
