"""The emulated REST API's gateway responses: API Gateway's own refusals, in the project's error shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """One API Gateway response type as the construct rewrites it: its status, the project's error
    `type` (also its `code`), API Gateway's default message and its `x-amzn-ErrorType` header."""

    status: int
    error_type: str
    message: str
    amzn_error_type: str

    def body(self) -> bytes:
        """`{"error": {"type", "message", "code"}}`, byte for byte as the construct's template renders it
        (stacks/rest_api_gateway_responses.py: `", "` and `": "` separators)."""
        document = {"error": {"type": self.error_type, "message": self.message, "code": self.error_type}}
        return json.dumps(document).encode("utf-8")


# Messages are API Gateway's defaults for each type ($context.error.messageString).
UNAUTHORIZED = GatewayResponse(401, "unauthorized", "Unauthorized", "UnauthorizedException")
ACCESS_DENIED = GatewayResponse(
    403, "forbidden", "User is not authorized to access this resource", "AccessDeniedException"
)
INVALID_API_KEY = GatewayResponse(403, "invalid_api_key", "Forbidden", "ForbiddenException")
MISSING_AUTHENTICATION_TOKEN = GatewayResponse(
    403, "missing_authentication_token", "Missing Authentication Token", "MissingAuthenticationTokenException"
)
THROTTLED = GatewayResponse(429, "throttled", "Too Many Requests", "TooManyRequestsException")
QUOTA_EXCEEDED = GatewayResponse(429, "quota_exceeded", "Limit Exceeded", "LimitExceededException")
REQUEST_TOO_LARGE = GatewayResponse(413, "payload_too_large", "Request Too Long", "RequestTooLongException")
INTEGRATION_TIMEOUT = GatewayResponse(
    504, "integration_timeout", "Endpoint request timed out", "InternalServerErrorException"
)
BAD_REQUEST = GatewayResponse(400, "bad_request", "Bad Request", "BadRequestException")
# DEFAULT_5XX at the statuses API Gateway uses: 502 when the function failed, 500 for a bad stream.
INTEGRATION_FAILURE = GatewayResponse(
    502, "gateway_error", "Internal server error", "InternalServerErrorException"
)
BAD_INTEGRATION_RESPONSE = GatewayResponse(
    500, "gateway_error", "Internal server error", "InternalServerErrorException"
)


def send(handler: BaseHTTPRequestHandler, response: GatewayResponse, *, request_id: str) -> None:
    """Answer `response` completely (Content-Length), with the request id and error type headers."""
    body = response.body()
    handler.send_response(response.status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("x-amzn-RequestId", request_id)
    handler.send_header("x-amzn-ErrorType", response.amzn_error_type)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
