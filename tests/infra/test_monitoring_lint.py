"""cdk-nag, cfn-lint and checkov over the monitoring variants (created KMS-encrypted topic, tracing, REST API
row, monitoring off): clean, and the one acknowledgement monitoring adds is needed and reasoned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from tests.infra.conftest import CDK_CONTEXT, RUNTIME_DIR, nag_violations
from tests.infra.monitoring_apps import NOVA, MonitoringApp, logical_id
from tests.infra.test_lint import _checkov, _ids, cfn_lint

LINTED = ("Custom", "GivenTopic", "Off", "Deployable")
TRACING_ACKNOWLEDGEMENT = "AwsSolutions-IAM5[Resource::*]"


def test_cdk_nag_finds_nothing_unacknowledged(monitoring_app: MonitoringApp) -> None:
    assert nag_violations(monitoring_app.outdir) == []


def test_tracing_adds_exactly_one_reasoned_acknowledgement(monitoring_app: MonitoringApp) -> None:
    for stack, expected in (("Custom", [TRACING_ACKNOWLEDGEMENT]), ("GivenTopic", []), ("Off", [])):
        default_policy = monitoring_app.functions[stack].role.node.find_child("DefaultPolicy")
        policy = monitoring_app.template(stack)["Resources"][logical_id(default_policy)]
        entries = policy.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        assert [entry["id"] for entry in entries] == expected, stack
        assert all(len(entry["reason"]) > 100 for entry in entries)
    # Nothing else of the monitoring (dashboard, alarms, query, topic, key) needs an acknowledgement.
    monitored = [
        resource
        for resource in monitoring_app.template("Custom")["Resources"].values()
        if resource["Type"].startswith(("AWS::CloudWatch::", "AWS::SNS::", "AWS::KMS::", "AWS::Logs::Query"))
    ]
    assert monitored and not [r for r in monitored if "cdk_nag" in r.get("Metadata", {})]


def test_without_the_acknowledgement_the_pack_reports_exactly_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Control: the X-Ray statement's Resource '*' is a real IAM5 finding, and the only one tracing adds."""
    monkeypatch.setattr(BedrockStreamingFunction, "_acknowledge_tracing_wildcard", lambda self: None)
    app = cdk.App(context=CDK_CONTEXT, outdir=str(tmp_path))
    BedrockStreamingFunction(
        cdk.Stack(app, "Traced"), "Fn", model_ids=[NOVA], runtime_directory=RUNTIME_DIR, tracing=True
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert nag_violations(tmp_path) == [TRACING_ACKNOWLEDGEMENT]


@pytest.mark.parametrize("stack", LINTED)
def test_cfn_lint_is_clean_except_w3005(monitoring_app: MonitoringApp, stack: str) -> None:
    result = cfn_lint(monitoring_app.template_path(stack))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov_reports(monitoring_app: MonitoringApp) -> list[dict[str, Any]]:
    return _checkov(*(monitoring_app.template_path(stack) for stack in LINTED))


def test_checkov_has_no_failed_check(checkov_reports: list[dict[str, Any]]) -> None:
    failed = {c["check_id"]: c["resource"] for r in checkov_reports for c in r["results"]["failed_checks"]}
    assert failed == {}


def test_checkov_passes_the_topic_and_key_checks(checkov_reports: list[dict[str, Any]]) -> None:
    """The created topic is encrypted (CKV_AWS_26) under a key that rotates (CKV_AWS_7)."""
    passed = {
        (c["check_id"], c["resource"].split(".")[0])
        for r in checkov_reports
        for c in r["results"]["passed_checks"]
    }
    assert {("CKV_AWS_26", "AWS::SNS::Topic"), ("CKV_AWS_7", "AWS::KMS::Key")} <= passed


def test_every_checkov_skip_has_a_written_reason(checkov_reports: list[dict[str, Any]]) -> None:
    skipped = _ids(checkov_reports, "skipped_checks")
    assert {check: comment for check, comment in skipped.items() if len(comment.strip()) < 20} == {}
