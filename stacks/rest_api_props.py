"""Validate BedrockStreamingRestApi props up front, collecting every problem instead of stopping at one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_

from .rest_api_auth import RestApiAuth, auth_problems
from .rest_api_key_authorizer import authorizer_directory_problems
from .rest_api_waf import RestApiWaf, waf_problems

MAX_STREAM_SECONDS = 15 * 60  # API Gateway's limit for a streamed integration
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# The same origin rule as the function's allowed_origins: scheme://host[:port], no path, or "*".
_ORIGIN = re.compile(r"^https?://(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")


@dataclass(frozen=True, kw_only=True)
class RestApiPropsToCheck:
    """The REST API construct's inputs, as validated before any resource is created."""

    function_is_streaming: bool
    function_timeout: cdk.Duration | None
    auth: object
    stage_name: str
    allowed_origins: Sequence[str]
    stage_throttle: apigw.ThrottleSettings | None
    waf: object
    authorizer_directory: Path
    authorizer_runtime: lambda_.Runtime


def rest_api_problems(props: RestApiPropsToCheck) -> list[str]:
    """Every problem with the props, in a stable order; unresolved CDK tokens are not judged."""
    problems = []
    if not props.function_is_streaming:
        problems.append("function must be a BedrockStreamingFunction")
    timeout = props.function_timeout
    if timeout is not None and not timeout.is_unresolved() and timeout.to_seconds() > MAX_STREAM_SECONDS:
        problems.append(f"the function's timeout {timeout.to_seconds():g} s exceeds a stream's 15 minutes")
    if not isinstance(props.auth, RestApiAuth):
        problems.append("auth must be a RestApiAuth (RestApiAuth.api_keys(), .cognito() or .iam())")
    else:
        problems.extend(auth_problems(props.auth))
        if props.auth.mode == "api-keys":
            problems.extend(_authorizer_problems(props))
    if not cdk.Token.is_unresolved(props.stage_name) and not _STAGE_NAME.match(props.stage_name):
        problems.append(f"stage_name {props.stage_name!r} must be 1-128 letters, digits, '-' or '_'")
    problems.extend(_origin_problems(props.allowed_origins))
    problems.extend(_stage_throttle_problems(props.stage_throttle))
    if props.waf is not None and not isinstance(props.waf, RestApiWaf):
        problems.append("waf must be a RestApiWaf (RestApiWaf.from_arn(...) or .rate_limited(...))")
    elif isinstance(props.waf, RestApiWaf):
        problems.extend(waf_problems(props.waf))
    return problems


def _authorizer_problems(props: RestApiPropsToCheck) -> list[str]:
    problems = authorizer_directory_problems(props.authorizer_directory)
    if props.authorizer_runtime.family != lambda_.RuntimeFamily.PYTHON:
        problems.append(f"authorizer_runtime {props.authorizer_runtime.to_string()} must be a Python runtime")
    return problems


def _origin_problems(allowed_origins: Sequence[str]) -> list[str]:
    if isinstance(allowed_origins, str):
        return ["allowed_origins must be a list of origins, not one string"]
    problems = [
        f"allowed origin {origin!r} is not an origin (scheme://host[:port], no path, or '*')"
        for origin in allowed_origins
        if not cdk.Token.is_unresolved(origin) and origin != "*" and not _ORIGIN.match(origin)
    ]
    if "*" in allowed_origins and len(allowed_origins) > 1:
        problems.append("allowed_origins cannot mix '*' with specific origins")
    return problems


def _stage_throttle_problems(throttle: apigw.ThrottleSettings | None) -> list[str]:
    if throttle is None:
        return []
    problems = []
    for name, value in (("rate_limit", throttle.rate_limit), ("burst_limit", throttle.burst_limit)):
        if value is None:
            problems.append(f"stage_throttle needs a {name} (or pass stage_throttle=None)")
        elif not cdk.Token.is_unresolved(value) and value < 0:
            problems.append(f"stage_throttle {name} {value} must be at least 0")
    return problems
