"""CDK entry point: builds BedrockStreamingStack from cdk.json context, adds cdk-nag checks, synthesizes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_stack import BedrockStreamingStack, StackSettings

STACK_NAME = "BedrockStreamingStack"


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    env: cdk.Environment | None = None,
    function_options: Mapping[str, Any] | None = None,
) -> tuple[cdk.App, BedrockStreamingStack]:
    """The app and its one stack, with the AwsSolutions cdk-nag pack registered as a validation plugin."""
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    stack = BedrockStreamingStack(
        app,
        STACK_NAME,
        settings=StackSettings.from_context(app.node),
        function_options=function_options,
        env=env,
    )
    # writeSuppressionsToCloudFormation keeps every acknowledgement and its reason in the template.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return app, stack


def main() -> None:
    """Synthesize into cdk.out; env-agnostic unless the CLI provides an account and Region."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    app, _ = build_app(env=env)
    app.synth()


if __name__ == "__main__":
    main()
