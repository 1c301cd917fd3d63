"""Guardrails on the stand-in's Converse surface: the `guardrailConfig` check, and an intervention's trace.

The shapes are the botocore model's `GuardrailStreamConfiguration` (identifier an id or a guardrail
ARN, version `DRAFT` or a number, `trace` enabled|disabled|enabled_full, `streamProcessingMode`
sync|async) and `GuardrailTraceAssessment` (per-guardrail input and output `GuardrailAssessment`s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from emulator.stub_frames import invalid

ACTION_REASON = "Guardrail blocked."
_ID = re.compile(r"[a-z0-9]+")
_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/(?P<id>[a-z0-9]+)")
_VERSION = re.compile(r"DRAFT|[1-9][0-9]{0,7}")


@dataclass(frozen=True, slots=True)
class Guardrail:
    """The guardrail a request names: its id (from the ARN when given one) and trace setting."""

    guardrail_id: str
    trace: str


def check_guardrail_config(config: object) -> Guardrail | None:
    """The request's guardrail, or None without `guardrailConfig`; 400 when it is malformed."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise invalid("guardrailConfig must be an object")
    identifier = config.get("guardrailIdentifier")
    arn = _ARN.fullmatch(identifier) if isinstance(identifier, str) else None
    if not isinstance(identifier, str) or not (_ID.fullmatch(identifier) or arn):
        raise invalid(
            "guardrailConfig.guardrailIdentifier must be a guardrail id ([a-z0-9]+) or guardrail ARN"
        )
    version = config.get("guardrailVersion")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise invalid("guardrailConfig.guardrailVersion must be DRAFT or a version number (1-99999999)")
    trace = config.get("trace", "disabled")
    if trace not in ("enabled", "disabled", "enabled_full"):
        raise invalid("guardrailConfig.trace must be enabled, disabled or enabled_full")
    if config.get("streamProcessingMode", "sync") not in ("sync", "async"):
        raise invalid("guardrailConfig.streamProcessingMode must be sync or async")
    return Guardrail(arn["id"] if arn else identifier, trace)


def guardrail_trace(guardrail: Guardrail, *, input_text: str, output_text: str) -> dict[str, object] | None:
    """`metadata.trace` for an intervention on the output (None when the request turned tracing off)."""
    if guardrail.trace == "disabled":
        return None
    blocked = {
        "type": "VIOLENCE",
        "confidence": "HIGH",
        "filterStrength": "HIGH",
        "action": "BLOCKED",
        "detected": True,
    }
    output = {"contentPolicy": {"filters": [blocked]}, **_metrics(len(output_text))}
    trace: dict[str, object] = {
        "actionReason": ACTION_REASON,
        "inputAssessment": {guardrail.guardrail_id: _metrics(len(input_text))},
        "outputAssessments": {guardrail.guardrail_id: [output]},
    }
    if guardrail.trace == "enabled_full":
        trace["modelOutput"] = [output_text]
    return {"guardrail": trace}


def _metrics(characters: int) -> dict[str, object]:
    usage = {
        "topicPolicyUnits": 0,
        "contentPolicyUnits": max(1, math.ceil(characters / 1000)),
        "wordPolicyUnits": 0,
        "sensitiveInformationPolicyUnits": 0,
        "sensitiveInformationPolicyFreeUnits": 0,
        "contextualGroundingPolicyUnits": 0,
    }
    coverage = {"textCharacters": {"guarded": characters, "total": characters}}
    return {
        "invocationMetrics": {"guardrailProcessingLatency": 1, "usage": usage, "guardrailCoverage": coverage}
    }
