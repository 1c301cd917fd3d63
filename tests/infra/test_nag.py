"""cdk-nag AwsSolutions over the real app: no unacknowledged finding, a reason on every acknowledgement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from tests.infra.conftest import SynthesizedApp


def _report(outdir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return report


def test_app_has_no_unacknowledged_findings(synthesized_app: SynthesizedApp) -> None:
    report = _report(synthesized_app.outdir)
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert violations == []


def test_every_acknowledgement_is_finding_level_with_a_reason(synthesized_app: SynthesizedApp) -> None:
    acknowledgements = [
        entry
        for resource in synthesized_app.template()["Resources"].values()
        for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    # The default models include an unpinned geographic profile, so there is exactly one to audit.
    assert acknowledgements, "expected the Region-wildcard acknowledgement of the default us. profile"
    for entry in acknowledgements:
        assert entry["id"].startswith("AwsSolutions-IAM5[Resource::"), entry["id"]
        assert len(entry["reason"]) > 60, entry


def test_the_pack_reports_the_finding_our_acknowledgement_names(
    synthesized_app: SynthesizedApp, tmp_path: Path
) -> None:
    """Control: the same wildcard statement without the acknowledgement fails synth with that exact id."""
    acknowledged = {
        entry["id"]
        for resource in synthesized_app.template()["Resources"].values()
        for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Control")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["bedrock:InvokeModelWithResponseStream"],
            resources=[
                f"arn:{stack.partition}:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
            ],
        )
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = _report(tmp_path)
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert rules == acknowledged
