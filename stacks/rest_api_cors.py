"""CORS for the REST API: the OPTIONS preflight, and the headers its gateway responses carry."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_

# What a browser caller sends: the OpenAI SDK's and the chat page's headers, and SigV4's for IAM callers.
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "x-api-key",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
)
ALLOWED_METHODS = ("GET", "POST", "OPTIONS")


def preflight_options(allowed_origins: Sequence[str]) -> apigw.CorsOptions | None:
    """The OPTIONS method on every resource (MOCK, no auth, 204); None without origins."""
    if not allowed_origins:
        return None
    return apigw.CorsOptions(
        allow_origins=list(allowed_origins),
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        max_age=cdk.Duration.minutes(10),
    )


def gateway_response_headers(allowed_origins: Sequence[str]) -> dict[str, str]:
    """CORS headers for API Gateway's own error responses, so a browser can read a 401, 403 or 429.

    One origin (or ``*``) is sent as it is. A gateway response cannot choose among several origins, so
    with several it echoes the request's ``Origin``: the bodies are API Gateway's generic refusals.
    """
    if not allowed_origins:
        return {}
    if len(allowed_origins) == 1:
        origin = {"Access-Control-Allow-Origin": f"'{allowed_origins[0]}'"}
    else:
        origin = {"Access-Control-Allow-Origin": "method.request.header.Origin"}
    vary = {} if allowed_origins[0] == "*" else {"Vary": "'Origin'"}
    return {**origin, **vary}


def let_function_answer_origins(function: lambda_.Function, allowed_origins: Sequence[str]) -> None:
    """API Gateway cannot add headers to a streamed proxy response, so the function answers the allowed
    origins itself on this door (CORS_ALLOWED_ORIGINS, read by bedrock_handler.cors)."""
    if allowed_origins:
        function.add_environment("CORS_ALLOWED_ORIGINS", ",".join(allowed_origins))
