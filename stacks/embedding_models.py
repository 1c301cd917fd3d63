"""The embedding models a BedrockStreamingFunction may call: synth-time checks, IAM resources, environment."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk

from .bedrock_arns import ArnContext, ModelKind, foundation_model_arn, parse_model_id

INVOKE_MODEL_ACTION = "bedrock:InvokeModel"
"""Embeddings are computed with InvokeModel (not streamed), which authorises with this action."""

# The request bodies the handler knows: Titan Text Embeddings (amazon.titan-embed-text-v2:0) and Cohere
# Embed (cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0).
EMBEDDING_FAMILIES = ("amazon.titan-embed-text-", "cohere.embed-")


def embedding_model_problems(model_ids: Sequence[str]) -> list[str]:
    """Every problem with ``embedding_model_ids``; an unresolved CDK token is taken to be a foundation
    model id and not judged."""
    if isinstance(model_ids, str):
        return ["embedding_model_ids must be a list of model ids, not one string"]
    problems: list[str] = []
    seen: set[str] = set()
    for model_id in model_ids:
        if not isinstance(model_id, str):
            problems.append(f"embedding model id {model_id!r} must be a string")
            continue
        if cdk.Token.is_unresolved(model_id):
            continue
        if model_id in seen:
            problems.append(f"embedding model id {model_id!r} is listed twice")
            continue
        seen.add(model_id)
        problems.extend(_one_model_problems(model_id))
    return problems


def _one_model_problems(model_id: str) -> list[str]:
    if not model_id.strip():
        return ["embedding model ids must not be empty"]
    try:
        kind = parse_model_id(model_id).kind
    except ValueError:
        kind = None
    if kind is not ModelKind.FOUNDATION_MODEL:
        what = "an inference profile or ARN" if kind is not None else "malformed"
        return [
            f"embedding model id {model_id!r} is {what}: embeddings are called by foundation model id "
            "('<provider>.<model>', e.g. 'amazon.titan-embed-text-v2:0'; no ',' or whitespace)"
        ]
    if not model_id.startswith(EMBEDDING_FAMILIES):
        return [
            f"embedding model id {model_id!r} is not a Titan Text Embeddings or Cohere Embed model "
            "(amazon.titan-embed-text-*, cohere.embed-*)"
        ]
    return []


def embedding_model_arns(model_ids: Sequence[str], *, arns: ArnContext) -> list[str]:
    """The foundation-model ARNs, in the stack's Region, that ``bedrock:InvokeModel`` is granted on."""
    return [foundation_model_arn(model_id, arns=arns) for model_id in model_ids]


def embedding_environment(model_ids: Sequence[str]) -> dict[str, str]:
    """``EMBEDDING_MODEL_IDS`` (comma-separated), or nothing without embedding models."""
    return {"EMBEDDING_MODEL_IDS": ",".join(model_ids)} if model_ids else {}
