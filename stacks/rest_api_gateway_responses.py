"""The REST API's own refusals (401, 403, 429, 413, 504, default 4xx/5xx) in the project's error shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw


@dataclass(frozen=True)
class GatewayError:
    """One gateway response: API Gateway's response type, the status it answers with, the error type."""

    response_type: apigw.ResponseType
    status_code: str | None
    error_type: str


# DEFAULT_4XX and DEFAULT_5XX keep the status of whichever unlisted type fell back to them.
GATEWAY_ERRORS: tuple[GatewayError, ...] = (
    GatewayError(apigw.ResponseType.UNAUTHORIZED, "401", "unauthorized"),
    GatewayError(apigw.ResponseType.ACCESS_DENIED, "403", "forbidden"),
    GatewayError(apigw.ResponseType.INVALID_API_KEY, "403", "invalid_api_key"),
    GatewayError(apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "403", "missing_authentication_token"),
    GatewayError(apigw.ResponseType.THROTTLED, "429", "throttled"),
    GatewayError(apigw.ResponseType.QUOTA_EXCEEDED, "429", "quota_exceeded"),
    GatewayError(apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large"),
    GatewayError(apigw.ResponseType.INTEGRATION_TIMEOUT, "504", "integration_timeout"),
    GatewayError(apigw.ResponseType.DEFAULT_4_XX, None, "bad_request"),
    GatewayError(apigw.ResponseType.DEFAULT_5_XX, None, "gateway_error"),
)


def error_template(error_type: str) -> str:
    """The body template: ``$context.error.messageString`` is API Gateway's message, already JSON-quoted."""
    return (
        f'{{"error": {{"type": "{error_type}", "message": $context.error.messageString, '
        f'"code": "{error_type}"}}}}'
    )


def add_gateway_responses(api: apigw.RestApi, *, headers: Mapping[str, str]) -> list[apigw.GatewayResponse]:
    """Rewrite every listed gateway response to the error shape, with ``headers`` (e.g. CORS) on each."""
    return [
        api.add_gateway_response(
            error.response_type.response_type,
            type=error.response_type,
            status_code=error.status_code,
            response_headers=dict(headers) or None,
            templates={"application/json": error_template(error.error_type)},
        )
        for error in GATEWAY_ERRORS
    ]
