"""The API-key TOKEN authorizer: a zip-packaged function from ``authorizer/``, its role and log group."""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .checkov_skips import add_checkov_skips, authorizer_function_skips, log_group_skips
from .rest_api_acknowledgements import acknowledge_runtime

DEFAULT_AUTHORIZER_DIRECTORY = Path(__file__).resolve().parent.parent / "authorizer"
AUTHORIZER_MODULE = "api_key_authorizer"
AUTHORIZER_HANDLER = f"{AUTHORIZER_MODULE}.handler"
DEFAULT_AUTHORIZER_RUNTIME = lambda_.Runtime.PYTHON_3_12
IDENTITY_SOURCE = apigw.IdentitySource.header("Authorization")
# Only the authorizer's source goes into the zip: no caches, no tests.
_ZIP_EXCLUDES = ("**/__pycache__", "**/*.pyc", "**/tests", "**/.DS_Store")


def authorizer_directory_problems(directory: Path) -> list[str]:
    """The folder must hold the authorizer module the function's handler names."""
    if not (directory / f"{AUTHORIZER_MODULE}.py").is_file():
        return [f"authorizer_directory {str(directory)!r} has no {AUTHORIZER_MODULE}.py"]
    return []


class ApiKeyAuthorizer(Construct):
    """A TOKEN authorizer reading ``Authorization``: strips ``Bearer ``, returns the key as
    ``usageIdentifierKey`` and a stage-wide Allow policy, cached per token for ``cache_ttl``.

    Its function has its own role (writes to its own log group, nothing else: it calls no AWS API),
    a log group with ``log_retention``, 128 MB and a 10 s timeout.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        directory: str | os.PathLike[str] = DEFAULT_AUTHORIZER_DIRECTORY,
        runtime: lambda_.Runtime = DEFAULT_AUTHORIZER_RUNTIME,
        cache_ttl: cdk.Duration,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the REST API key authorizer (writes its own logs only)",
        )
        """The function's role: log writes to its own log group only."""
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention)
        """The function's log group (the platform's START/END/REPORT lines; the code logs nothing)."""
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="REST API TOKEN authorizer: Authorization: Bearer <key> -> usage-plan API key",
            runtime=runtime,
            handler=AUTHORIZER_HANDLER,
            code=lambda_.Code.from_asset(str(directory), exclude=list(_ZIP_EXCLUDES)),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=128,
            timeout=cdk.Duration.seconds(10),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.WARN,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        """The authorizer ``Function`` (managed Python runtime, zip asset of ``directory``)."""
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "Authorizer",
            handler=self.function,
            identity_source=IDENTITY_SOURCE,
            results_cache_ttl=cache_ttl,
        )
        """The ``TokenAuthorizer`` (identity source ``method.request.header.Authorization``)."""
        add_checkov_skips(self.function, authorizer_function_skips())
        add_checkov_skips(self.log_group, log_group_skips())
        if runtime.to_string() != _latest_python().to_string():
            acknowledge_runtime(self.function, runtime.to_string())


def _latest_python() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib knows (what cdk-nag's L1 rule compares against)."""
    pythons = [runtime for runtime in lambda_.Runtime.ALL if runtime.family == lambda_.RuntimeFamily.PYTHON]
    return max(pythons, key=lambda runtime: tuple(int(part) for part in runtime.to_string()[6:].split(".")))
