"""The Bedrock guardrail a BedrockStreamingFunction applies: synth-time checks, its ARN, its environment."""

from __future__ import annotations

import re
from typing import Literal

import aws_cdk as cdk

from .bedrock_arns import ArnContext

APPLY_GUARDRAIL_ACTION = "bedrock:ApplyGuardrail"
"""What Converse and ConverseStream need, besides the invoke action, to run a request through a guardrail."""

GuardrailStreamMode = Literal["sync", "async"]
GUARDRAIL_STREAM_MODES: tuple[GuardrailStreamMode, ...] = ("sync", "async")
DEFAULT_GUARDRAIL_STREAM_MODE: GuardrailStreamMode = "sync"

# The GuardrailIdentifier and GuardrailVersion patterns of botocore's bedrock-runtime service model.
_GUARDRAIL_ID = re.compile(r"^[a-z0-9]+$")
_GUARDRAIL_ARN = re.compile(r"^arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+$")
_GUARDRAIL_VERSION = re.compile(r"^(?:[1-9][0-9]{0,7}|DRAFT)$")


def guardrail_problems(
    guardrail_id: str | None, guardrail_version: str | None, stream_mode: str
) -> list[str]:
    """Every problem with the three guardrail props; unresolved CDK tokens are not judged."""
    problems = [*_id_problems(guardrail_id), *_version_problems(guardrail_version)]
    if (guardrail_id is None) != (guardrail_version is None):
        problems.append("guardrail_id and guardrail_version go together: pass both, or neither")
    if stream_mode not in GUARDRAIL_STREAM_MODES:
        problems.append(f"guardrail_stream_mode {stream_mode!r} must be 'sync' or 'async'")
    elif stream_mode != DEFAULT_GUARDRAIL_STREAM_MODE and guardrail_id is None:
        problems.append(f"guardrail_stream_mode {stream_mode!r} needs guardrail_id and guardrail_version")
    return problems


def _id_problems(guardrail_id: str | None) -> list[str]:
    if guardrail_id is None or cdk.Token.is_unresolved(guardrail_id):
        return []
    if not isinstance(guardrail_id, str):
        return [f"guardrail_id must be a string (a guardrail id or ARN), got {guardrail_id!r}"]
    if not guardrail_id.strip():
        return ["guardrail_id must not be empty (pass None for no guardrail)"]
    if _GUARDRAIL_ID.match(guardrail_id) or _GUARDRAIL_ARN.match(guardrail_id):
        return []
    return [
        f"guardrail_id {guardrail_id!r} is neither a guardrail id (lower-case letters and digits) "
        "nor a guardrail ARN (arn:aws:bedrock:<region>:<account>:guardrail/<id>)"
    ]


def _version_problems(guardrail_version: str | None) -> list[str]:
    if guardrail_version is None or cdk.Token.is_unresolved(guardrail_version):
        return []
    if isinstance(guardrail_version, str) and _GUARDRAIL_VERSION.match(guardrail_version):
        return []
    return [
        f"guardrail_version {guardrail_version!r} must be 'DRAFT' or a version number string '1'-'99999999'"
    ]


def guardrail_arn(guardrail_id: str, *, arns: ArnContext) -> str:
    """The ARN ``bedrock:ApplyGuardrail`` is granted on: an ARN (or a CDK token, taken to be the ARN) as
    given, otherwise the id's guardrail in the stack's account and Region."""
    if cdk.Token.is_unresolved(guardrail_id) or _GUARDRAIL_ARN.match(guardrail_id):
        return guardrail_id
    return f"arn:{arns.partition}:bedrock:{arns.region}:{arns.account}:guardrail/{guardrail_id}"


def guardrail_environment(
    guardrail_id: str | None, guardrail_version: str | None, stream_mode: str
) -> dict[str, str]:
    """``GUARDRAIL_ID``, ``GUARDRAIL_VERSION``, ``GUARDRAIL_STREAM_MODE``; nothing without a guardrail."""
    if guardrail_id is None or guardrail_version is None:
        return {}
    return {
        "GUARDRAIL_ID": guardrail_id,
        "GUARDRAIL_VERSION": guardrail_version,
        "GUARDRAIL_STREAM_MODE": stream_mode,
    }
