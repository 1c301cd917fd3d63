"""BedrockStreamingRestApi refuses bad props up front, with one error that lists every problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_rest_api import BedrockStreamingRestApi
from stacks.rest_api_auth import RestApiAuth
from stacks.rest_api_waf import RestApiWaf
from tests.infra.conftest import CDK_CONTEXT


@pytest.fixture(scope="module")
def stack_and_function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[cdk.Stack, Any]]:
    build_context = tmp_path_factory.mktemp("runtime")
    (build_context / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    app = cdk.App(context=CDK_CONTEXT)
    stack = cdk.Stack(app, "Props")
    function = BedrockStreamingFunction(
        stack, "Fn", model_ids=["amazon.nova-micro-v1:0"], runtime_directory=build_context
    )
    yield stack, function


def _problems(stack_and_function: tuple[cdk.Stack, Any], construct_id: str, **props: Any) -> list[str]:
    stack, function = stack_and_function
    props.setdefault("function", function)
    props.setdefault("auth", RestApiAuth.api_keys())
    with pytest.raises(
        ValueError, match=f"invalid BedrockStreamingRestApi props for '{construct_id}'"
    ) as raised:
        BedrockStreamingRestApi(stack, construct_id, **props)
    return str(raised.value).split("\n- ")[1:]


def test_every_problem_is_listed_at_once(stack_and_function: tuple[cdk.Stack, Any], tmp_path: Path) -> None:
    problems = _problems(
        stack_and_function,
        "All",
        auth=RestApiAuth.api_keys(
            throttle=apigw.ThrottleSettings(rate_limit=-1, burst_limit=2.5),
            quota=apigw.QuotaSettings(limit=0, period=apigw.Period.DAY),
            cache_ttl=cdk.Duration.hours(2),
        ),
        stage_name="prod/v1",
        allowed_origins=["https://ok.example.com", "https://bad.example.com/path", "*"],
        stage_throttle=apigw.ThrottleSettings(rate_limit=-5),
        waf=RestApiWaf.rate_limited(rate_limit=5, window=cdk.Duration.minutes(3)),
        authorizer_directory=tmp_path,
        authorizer_runtime=lambda_.Runtime.NODEJS_22_X,
    )
    assert problems == [
        "auth throttle rate_limit -1 must be at least 0 requests per second",
        "auth throttle burst_limit 2.5 must be a whole number of at least 0",
        "auth quota limit 0 must be a whole number of at least 1",
        "auth cache_ttl 7200 s is outside 0 s - 1 hour",
        f"authorizer_directory {str(tmp_path)!r} has no api_key_authorizer.py",
        "authorizer_runtime nodejs22.x must be a Python runtime",
        "stage_name 'prod/v1' must be 1-128 letters, digits, '-' or '_'",
        "allowed origin 'https://bad.example.com/path' is not an origin "
        "(scheme://host[:port], no path, or '*')",
        "allowed_origins cannot mix '*' with specific origins",
        "stage_throttle rate_limit -5 must be at least 0",
        "stage_throttle needs a burst_limit (or pass stage_throttle=None)",
        "WAF rate_limit 5 is outside 10-2000000000",
        "WAF window 180 s must be 60, 120, 300 or 600 s",
    ]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"function": "my-function"}, ["function must be a BedrockStreamingFunction"]),
        ({"auth": "api-keys"}, ["auth must be a RestApiAuth (RestApiAuth.api_keys(), .cognito() or .iam())"]),
        ({"auth": RestApiAuth(mode="oauth")}, ["auth mode 'oauth' must be one of api-keys, cognito, iam"]),  # type: ignore[arg-type]
        (
            {"auth": RestApiAuth.cognito()},
            ["callback_urls must name at least one URL when the construct creates the user pool"],
        ),
        (
            {"auth": RestApiAuth.cognito(callback_urls=["http://example.com/cb", "https://ok.example.com/"])},
            [
                "callback or logout URL 'http://example.com/cb' must be https://..., "
                "or http://localhost for development"
            ],
        ),
        (
            {"auth": RestApiAuth.cognito(callback_urls=["https://a.example/"], domain_prefix="My_Chat")},
            ["domain_prefix 'My_Chat' must be 1-63 lower-case letters, digits and inner hyphens"],
        ),
        (
            {"auth": RestApiAuth.cognito(callback_urls=["https://a.example/"], domain_prefix="my-aws-chat")},
            ["domain_prefix 'my-aws-chat' must not contain aws, amazon or cognito"],
        ),
        (
            {"waf": RestApiWaf.from_arn("arn:aws:wafv2:us-east-1:111122223333:global/webacl/x/1")},
            [
                "web ACL ARN 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/x/1' "
                "is not a REGIONAL wafv2 web ACL ARN"
            ],
        ),
        (
            {"waf": "arn:aws:wafv2:..."},
            ["waf must be a RestApiWaf (RestApiWaf.from_arn(...) or .rate_limited(...))"],
        ),
        (
            {"allowed_origins": "https://chat.example.com"},
            ["allowed_origins must be a list of origins, not one string"],
        ),
    ],
)
def test_each_problem(
    stack_and_function: tuple[cdk.Stack, Any], props: dict[str, Any], expected: list[str]
) -> None:
    assert _problems(stack_and_function, "One", **props) == expected


def test_a_given_pool_with_created_pool_settings_or_a_lone_client(
    stack_and_function: tuple[cdk.Stack, Any],
) -> None:
    stack, _ = stack_and_function
    pool = cognito.UserPool.from_user_pool_id(stack, "Pool", "us-east-1_AbCdEfGhI")
    client = cognito.UserPoolClient.from_user_pool_client_id(stack, "Client", "1example23456789")
    assert _problems(
        stack_and_function,
        "GivenPool",
        auth=RestApiAuth.cognito(user_pool=pool, callback_urls=["https://a.example/"]),
    ) == [
        "callback_urls, logout_urls and domain_prefix configure a created pool; "
        "set them on your own pool's client and domain instead"
    ]
    assert _problems(
        stack_and_function,
        "LoneClient",
        auth=RestApiAuth.cognito(user_pool_client=client, callback_urls=["https://a.example/"]),
    ) == ["user_pool_client needs the user_pool it belongs to"]


def test_tokens_are_not_judged(stack_and_function: tuple[cdk.Stack, Any]) -> None:
    stack, function = stack_and_function
    BedrockStreamingRestApi(
        stack,
        "Tokens",
        function=function,
        auth=RestApiAuth.api_keys(
            quota=apigw.QuotaSettings(limit=cdk.Token.as_number(cdk.Fn.ref("Quota")), period=apigw.Period.DAY)
        ),
        allowed_origins=[cdk.Fn.ref("Origin")],
        waf=RestApiWaf.from_arn(cdk.Fn.ref("AclArn")),
    )


def test_a_valid_api_without_keys_mode_ignores_the_authorizer_folder(
    stack_and_function: tuple[cdk.Stack, Any], tmp_path: Path
) -> None:
    stack, function = stack_and_function
    api = BedrockStreamingRestApi(
        stack, "Iam", function=function, auth=RestApiAuth.iam(), authorizer_directory=tmp_path
    )
    assert api.authorizer is None and api.usage_plan is None
