"""Walks a synthesized CloudFormation template for every IAM statement and renders intrinsic ARNs as text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Statement:
    """One IAM statement found in the template, with where it was found."""

    where: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Any]
    raw: Mapping[str, Any]


def render(value: Any) -> str:
    """An intrinsic-built string as text: Ref -> ${Name}, GetAtt -> ${Id.Attr}, Join joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        (name, argument), *_ = value.items()
        if name == "Ref":
            return f"${{{argument}}}"
        if name == "Fn::GetAtt":
            return "${" + ".".join(argument) + "}"
        if name == "Fn::Join":
            separator, parts = argument
            return separator.join(render(part) for part in parts)
    return json.dumps(value, sort_keys=True)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(where: str, document: Mapping[str, Any]) -> Iterator[Statement]:
    for raw in _as_list(document.get("Statement")):
        yield Statement(
            where=where,
            effect=raw.get("Effect", ""),
            actions=tuple(render(a) for a in _as_list(raw.get("Action")) + _as_list(raw.get("NotAction"))),
            resources=tuple(
                render(r) for r in _as_list(raw.get("Resource")) + _as_list(raw.get("NotResource"))
            ),
            conditions=raw.get("Condition") or {},
            raw=raw,
        )


def identity_statements(template: Mapping[str, Any]) -> list[Statement]:
    """Every statement of every identity policy: AWS::IAM::Policy, ManagedPolicy, a Role's (or User's or
    Group's) inline Policies. Trust policies are not identity policies and are left out."""
    found: list[Statement] = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind, props = resource.get("Type", ""), resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found += _statements(f"{logical_id} ({kind})", props.get("PolicyDocument", {}))
        if kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for inline in props.get("Policies", []):
                found += _statements(
                    f"{logical_id} inline {inline.get('PolicyName')}", inline["PolicyDocument"]
                )
    return found


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}
