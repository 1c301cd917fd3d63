"""Shared fixtures for the CDK tests: one synthesized default app per session, and template helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = REPO_ROOT / "runtime"
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
ASSET_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SynthesizedApp:
    """The default app (cdk.json context, cdk-nag registered) and where its cloud assembly was written."""

    app: Any
    stack: Any
    outdir: Path

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    def template(self) -> dict[str, Any]:
        template: dict[str, Any] = json.loads(self.template_path.read_text())
        return template


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    """Synthesize app.py's app once (jsii start-up dominates) into a temporary cloud assembly."""
    if not (RUNTIME_DIR / "Dockerfile").is_file():
        pytest.skip("runtime/Dockerfile does not exist yet")
    import app as app_module

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = app_module.build_app(context=CDK_CONTEXT, outdir=str(outdir))
    app.synth()
    yield SynthesizedApp(app=app, stack=stack, outdir=outdir)


@pytest.fixture(scope="session")
def monitoring_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The monitoring variants (tests/infra/monitoring_apps.py), synthesized once for every module."""
    from tests.infra.monitoring_apps import build_monitoring_app

    build_context = tmp_path_factory.mktemp("runtime")
    (build_context / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return build_monitoring_app(build_context, tmp_path_factory.mktemp("cdk.out"))


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def nag_violations(outdir: Path) -> list[str]:
    """The rule names of every cdk-nag finding left unacknowledged in a synth's validation report."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return sorted(v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"])


def policy_statements(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every identity policy in the template."""
    return [
        statement
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def normalise_asset_hashes(value: Any) -> Any:
    """Replace every 64-hex asset digest (S3 keys, image tags, asset-path metadata) with a placeholder."""
    return json.loads(ASSET_HASH.sub("<ASSET_HASH>", json.dumps(value)))


_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "<region>", "AWS::AccountId": "<account>"}


def render_pseudo_parameters(value: Any) -> Any:
    """Read an ARN built from pseudo-parameter tokens as a string (partition rendered as "aws"); other
    references and attributes are left as they are."""
    if isinstance(value, list):
        return [render_pseudo_parameters(item) for item in value]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        merged: list[Any] = []
        for part in (render_pseudo_parameters(part) for part in parts):
            if separator == "" and isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            else:
                merged.append(part)
        if all(isinstance(part, str) for part in merged):
            return separator.join(merged)
        return {"Fn::Join": [separator, merged]}
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in _PSEUDO:
        return _PSEUDO[value["Ref"]]
    if isinstance(value, dict):
        return {key: render_pseudo_parameters(item) for key, item in value.items()}
    return value
