"""The deployable stack: one BedrockStreamingFunction configured from CDK context, with its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, Node

from .bedrock_streaming_function import DEFAULT_RESERVED_CONCURRENCY, BedrockStreamingFunction

_AUTH_TYPES = {"AWS_IAM": lambda_.FunctionUrlAuthType.AWS_IAM, "NONE": lambda_.FunctionUrlAuthType.NONE}


class ContextError(ValueError):
    """A CDK context value (cdk.json or ``-c key=value``) has the wrong shape."""


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The stack's settings as read from CDK context."""

    model_ids: tuple[str, ...]
    auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM
    allowed_origins: tuple[str, ...] = ()
    reserved_concurrency: int | None = DEFAULT_RESERVED_CONCURRENCY

    @classmethod
    def from_context(cls, node: Node) -> StackSettings:
        """Read ``modelIds``, ``authType``, ``allowedOrigins``, ``reservedConcurrency`` from context;
        list values may also be given as comma-separated strings (``cdk synth -c modelIds=a,b``)."""
        get: Any = node.try_get_context
        raw_auth = get("authType")
        # Only an absent or empty value means the default; 0, false and the like are mistakes to report.
        auth_name = "AWS_IAM" if raw_auth is None or raw_auth == "" else str(raw_auth).upper()
        if auth_name not in _AUTH_TYPES:
            raise ContextError(f"context authType must be AWS_IAM or NONE, got {auth_name!r}")
        return cls(
            model_ids=_string_list("modelIds", get("modelIds")),
            auth_type=_AUTH_TYPES[auth_name],
            allowed_origins=_string_list("allowedOrigins", get("allowedOrigins")),
            reserved_concurrency=_optional_int(
                "reservedConcurrency", get("reservedConcurrency"), default=DEFAULT_RESERVED_CONCURRENCY
            ),
        )


def _string_list(key: str, value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ContextError(f"context {key} must be a list of strings or a comma-separated string")


def _optional_int(key: str, value: object, *, default: int) -> int | None:
    # CDK context cannot tell JSON null from a missing key, so "none" is the explicit opt-out.
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() in {"none", "null", "off"}:
        return None
    if isinstance(value, bool):
        raise ContextError(f'context {key} must be an integer or "none", got {value!r}')
    try:
        return int(str(value))
    except ValueError:
        raise ContextError(f'context {key} must be an integer or "none", got {value!r}') from None


class BedrockStreamingStack(cdk.Stack):
    """Deploys the streaming function and outputs its URL and a ready-to-paste client command."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        function_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """:param settings: what to deploy (usually ``StackSettings.from_context``).
        :param function_options: extra BedrockStreamingFunction props (e.g. ``runtime_directory``).
            Default: none.
        :param kwargs: passed to ``cdk.Stack`` (``env``, ``description``, ...)."""
        kwargs.setdefault("description", "Streams Amazon Bedrock output through a Lambda Function URL")
        super().__init__(scope, construct_id, **kwargs)
        self.streaming = BedrockStreamingFunction(
            self,
            "BedrockStreaming",
            model_ids=settings.model_ids,
            auth_type=settings.auth_type,
            allowed_origins=settings.allowed_origins,
            reserved_concurrent_executions=settings.reserved_concurrency,
            **dict(function_options or {}),
        )
        cdk.CfnOutput(
            self,
            "FunctionUrl",
            value=self.streaming.url,
            description="The streaming endpoint (POST a prompt)",
        )
        cdk.CfnOutput(
            self,
            "FunctionName",
            value=self.streaming.function.function_name,
            description="The Lambda function (logs, metrics, configuration)",
        )
        cdk.CfnOutput(
            self,
            "ModelIds",
            value=",".join(settings.model_ids),
            description="Allowed model ids; the first is the default",
        )
        cdk.CfnOutput(
            self,
            "StreamClientCommand",
            value=f'python -m stream_client {self.streaming.url} "Hello"',
            description="Paste into a shell in this repository to stream a reply",
        )
