"""The stack outputs of the REST API door: its URLs, the key and plan ids, the Cognito sign-in values."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from .bedrock_streaming_rest_api import BedrockStreamingRestApi


def add_rest_api_outputs(scope: Construct, rest_api: BedrockStreamingRestApi) -> None:
    """``RestApiUrl`` and ``RestApiOpenAIBaseUrl``; with API keys ``RestApiKeyId`` (of the key named
    ``default``) and ``RestApiUsagePlanId``; with a Cognito pool ``UserPoolId``, ``UserPoolClientId`` and,
    when the pool was created, ``CognitoDomain``."""
    cdk.CfnOutput(
        scope, "RestApiUrl", value=rest_api.url, description="The REST API door (stage URL, ends with /)"
    )
    cdk.CfnOutput(
        scope,
        "RestApiOpenAIBaseUrl",
        value=rest_api.openai_base_url,
        description="base_url for OpenAI SDKs through the REST API door",
    )
    default_key = rest_api.api_keys.get("default")
    if default_key is not None:
        cdk.CfnOutput(
            scope,
            "RestApiKeyId",
            value=default_key.key_id,
            description="Id of the stack's API key; its value: aws apigateway get-api-key --api-key "
            "<id> --include-value --query value --output text",
        )
    if rest_api.usage_plan is not None:
        cdk.CfnOutput(
            scope,
            "RestApiUsagePlanId",
            value=rest_api.usage_plan.usage_plan_id,
            description="The keys' usage plan (throttle and daily quota): aws apigateway "
            "create-usage-plan-key --usage-plan-id <id> --key-type API_KEY --key-id <key id>",
        )
    if rest_api.user_pool is not None:
        cdk.CfnOutput(
            scope, "UserPoolId", value=rest_api.user_pool.user_pool_id, description="Cognito user pool"
        )
    if rest_api.user_pool_client is not None:
        cdk.CfnOutput(
            scope,
            "UserPoolClientId",
            value=rest_api.user_pool_client.user_pool_client_id,
            description="Cognito app client (authorization code + PKCE, no secret)",
        )
    if rest_api.user_pool_domain is not None:
        cdk.CfnOutput(
            scope,
            "CognitoDomain",
            value=rest_api.user_pool_domain.base_url(),
            description="Cognito hosted sign-in (/oauth2/authorize, /oauth2/token)",
        )
