"""Turn Bedrock model ids into the least-privilege IAM grants that let a function stream from them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

INVOKE_STREAM_ACTION = "bedrock:InvokeModelWithResponseStream"
"""ConverseStream and InvokeModelWithResponseStream both authorise with this one action."""

_PROFILE_CONDITION_KEY = "bedrock:InferenceProfileArn"

# A model id is "<provider>.<model>" or, for a system (cross-Region) inference profile,
# "<geography>.<provider>.<model>"; model names never contain a dot, so the parse is unambiguous.
_MODEL_ID = re.compile(
    r"^(?:(?P<prefix>[a-z]{2,}(?:-[a-z]+)?)\.)?"
    r"(?P<base>[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9][a-z0-9_:-]*)$"
)
_BEDROCK_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:(?:\d{12})?:"
    r"(?:foundation-model|inference-profile|application-inference-profile|provisioned-model"
    r"|custom-model|custom-model-deployment|imported-model)/\S+$"
)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")


class ModelKind(Enum):
    """How a configured model id is reached, which decides its IAM resources."""

    FOUNDATION_MODEL = "foundation-model"
    GEOGRAPHIC_PROFILE = "geographic-profile"
    GLOBAL_PROFILE = "global-profile"
    ARN = "arn"


@dataclass(frozen=True)
class ModelRef:
    """A parsed model id: its kind and, for profiles, the foundation model behind it."""

    model_id: str
    kind: ModelKind
    base_model_id: str


@dataclass(frozen=True)
class ModelGrant:
    """One IAM statement's worth of Bedrock access: resources plus an optional condition block."""

    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    region_wildcard: bool = False


@dataclass(frozen=True, kw_only=True)
class ArnContext:
    """The stack's partition, region and account (literals or CDK tokens) used to build ARNs."""

    partition: str
    region: str
    account: str


def parse_model_id(model_id: str) -> ModelRef:
    """Classify one model id; raise ValueError with a readable message when it is malformed."""
    if _BEDROCK_ARN.match(model_id):
        return ModelRef(model_id=model_id, kind=ModelKind.ARN, base_model_id=model_id)
    match = _MODEL_ID.match(model_id)
    if match is None:
        raise ValueError(
            f"model id {model_id!r} is neither '<provider>.<model>', '<geo>.<provider>.<model>' "
            "nor a Bedrock ARN"
        )
    prefix, base = match.group("prefix"), match.group("base")
    if prefix is None:
        return ModelRef(model_id=model_id, kind=ModelKind.FOUNDATION_MODEL, base_model_id=base)
    kind = ModelKind.GLOBAL_PROFILE if prefix == "global" else ModelKind.GEOGRAPHIC_PROFILE
    return ModelRef(model_id=model_id, kind=kind, base_model_id=base)


def model_id_problems(model_ids: Sequence[str]) -> list[str]:
    """Every problem with an allow-list of literal model ids (callers drop CDK tokens first)."""
    problems: list[str] = []
    if not model_ids:
        problems.append("model_ids must name at least one model (the first is the default)")
    seen: set[str] = set()
    for model_id in model_ids:
        if model_id in seen:
            problems.append(f"model id {model_id!r} is listed twice")
        seen.add(model_id)
        if not model_id.strip():
            problems.append("model ids must not be empty")
            continue
        try:
            parse_model_id(model_id)
        except ValueError as error:
            problems.append(str(error))
    return problems


def profile_region_problems(
    inference_profile_regions: Mapping[str, Sequence[str]], *, model_ids: Sequence[str]
) -> list[str]:
    """Problems with pinned destination Regions: unknown profile keys, empty or malformed Regions."""
    problems: list[str] = []
    for profile_id, regions in inference_profile_regions.items():
        if profile_id not in model_ids or _safe_kind(profile_id) is not ModelKind.GEOGRAPHIC_PROFILE:
            problems.append(
                f"inference_profile_regions key {profile_id!r} is not a geographic inference profile "
                "listed in model_ids"
            )
        if not regions:
            problems.append(f"inference_profile_regions[{profile_id!r}] must list at least one Region")
        problems.extend(
            f"inference_profile_regions[{profile_id!r}] has {region!r}, which is not a Region name"
            for region in regions
            if not _REGION.match(region)
        )
    return problems


def _safe_kind(model_id: str) -> ModelKind | None:
    try:
        return parse_model_id(model_id).kind
    except ValueError:
        return None


def model_grants(
    model_id: str, *, arns: ArnContext, destination_regions: Sequence[str] | None = None
) -> list[ModelGrant]:
    """The grants (PROTOCOL.md §7.3) that let the function stream from one model id and nothing else."""
    ref = parse_model_id(model_id)
    if ref.kind is ModelKind.ARN:
        return [ModelGrant(resources=(model_id,))]
    if ref.kind is ModelKind.FOUNDATION_MODEL:
        return [ModelGrant(resources=(_foundation_arn(arns, arns.region, ref.base_model_id),))]
    profile_arn = (
        f"arn:{arns.partition}:bedrock:{arns.region}:{arns.account}:inference-profile/{ref.model_id}"
    )
    through_profile = {"StringEquals": {_PROFILE_CONDITION_KEY: profile_arn}}
    if ref.kind is ModelKind.GLOBAL_PROFILE:
        return [
            ModelGrant(resources=(profile_arn,)),
            ModelGrant(
                resources=(_foundation_arn(arns, arns.region, ref.base_model_id),),
                conditions=through_profile,
            ),
            # Global routing targets a Region-less model ARN, and the request then has no Region.
            ModelGrant(
                resources=(_foundation_arn(arns, "", ref.base_model_id),),
                conditions={
                    "StringEquals": {
                        _PROFILE_CONDITION_KEY: profile_arn,
                        "aws:RequestedRegion": "unspecified",
                    }
                },
            ),
        ]
    if destination_regions:
        destinations = tuple(_foundation_arn(arns, r, ref.base_model_id) for r in destination_regions)
        return [
            ModelGrant(resources=(profile_arn,)),
            ModelGrant(resources=destinations, conditions=through_profile),
        ]
    # Without pinned destinations the Region is a wildcard; the condition keeps it reachable
    # only through this one profile, so it cannot be used to call the model directly anywhere.
    return [
        ModelGrant(resources=(profile_arn,)),
        ModelGrant(
            resources=(_foundation_arn(arns, "*", ref.base_model_id),),
            conditions=through_profile,
            region_wildcard=True,
        ),
    ]


def foundation_model_arn(base_model_id: str, *, arns: ArnContext) -> str:
    """The ARN of an on-demand foundation model in the stack's Region (no account: AWS owns it)."""
    return _foundation_arn(arns, arns.region, base_model_id)


def _foundation_arn(arns: ArnContext, region: str, base_model_id: str) -> str:
    return f"arn:{arns.partition}:bedrock:{region}::foundation-model/{base_model_id}"
