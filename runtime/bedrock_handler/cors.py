"""CORS on the REST API door: API Gateway cannot add headers to a streamed proxy response, so the function
answers an allowed `Origin` itself (CORS_ALLOWED_ORIGINS). A Function URL adds its own CORS headers."""

from __future__ import annotations

from streaming_runtime import StreamingResponse

from bedrock_handler.http_event import HttpRequest

REST_API = "rest-api"


def allow_origin(
    response: StreamingResponse, http: HttpRequest, allowed: tuple[str, ...]
) -> StreamingResponse:
    """`response` with `access-control-allow-origin` when the request came through the REST API from an
    allowed origin (`*` allows any); otherwise `response` itself."""
    origin = http.headers.get("origin")
    if not (allowed and origin and http.door == REST_API):
        return response
    if "*" in allowed:
        added = {"access-control-allow-origin": "*"}
    elif origin in allowed:
        added = {"access-control-allow-origin": origin, "vary": "origin"}
    else:
        return response
    return StreamingResponse(
        response.body,
        status_code=response.status_code,
        headers={**response.headers, **added},
        cookies=response.cookies,
    )
