"""cdk-nag, cfn-lint and checkov over the stack with each REST API door: clean, every exception reasoned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stacks.rest_api_acknowledgements
from tests.infra.conftest import SynthesizedApp, nag_violations
from tests.infra.rest_api_apps import API_KEYS, COGNITO, IAM_WITH_WAF, synthesize
from tests.infra.test_lint import _checkov, _ids, cfn_lint

VARIANTS = {"api-keys": API_KEYS, "cognito": COGNITO, "iam-waf": IAM_WITH_WAF}
# What each door acknowledges in cdk-nag (the function's own IAM5 for the us. profile aside).
EXPECTED_ACKNOWLEDGEMENTS = {
    "api-keys": ["APIG2", "APIG3", "APIG6", "COG4", "COG4", "L1"],
    "cognito": ["APIG2", "APIG3", "APIG6", "COG8"],
    "iam-waf": ["APIG2", "COG4", "COG4"],
}
# checkov's secrets scan reads the enum value next to "ApiKeySourceType" as a high-entropy string.
KEY_SOURCE_FALSE_POSITIVE = ("CKV_SECRET_6", '"ApiKeySourceType": "AU**********"')


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SynthesizedApp]]:
    yield {name: synthesize(context, tmp_path_factory.mktemp(name)) for name, context in VARIANTS.items()}


def _acknowledgements(template: dict[str, Any]) -> list[dict[str, str]]:
    return [
        entry
        for resource in template["Resources"].values()
        for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_cdk_nag_finds_nothing_unacknowledged(variants: dict[str, SynthesizedApp]) -> None:
    assert {name: nag_violations(synthesized.outdir) for name, synthesized in variants.items()} == {
        name: [] for name in VARIANTS
    }


def test_each_door_acknowledges_exactly_its_expected_findings_with_reasons(
    variants: dict[str, SynthesizedApp],
) -> None:
    for name, synthesized in variants.items():
        door = [
            entry
            for entry in _acknowledgements(synthesized.template())
            if not entry["id"].startswith("AwsSolutions-IAM5")
        ]
        assert (
            sorted(entry["id"].removeprefix("AwsSolutions-") for entry in door)
            == EXPECTED_ACKNOWLEDGEMENTS[name]
        )
        assert all(len(entry["reason"]) > 100 for entry in door), name


def test_without_the_acknowledgements_the_pack_reports_exactly_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Control: every door acknowledgement names a finding the pack really raises (none is stale)."""
    monkeypatch.setattr(stacks.rest_api_acknowledgements, "_acknowledge", lambda *_: None)
    for name, context in VARIANTS.items():
        outdir = tmp_path / name
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            synthesize(context, outdir)
        rules = sorted(rule.removeprefix("AwsSolutions-") for rule in set(nag_violations(outdir)))
        assert rules == sorted(set(EXPECTED_ACKNOWLEDGEMENTS[name])), name


def test_cfn_lint_is_clean_except_w3005(variants: dict[str, SynthesizedApp]) -> None:
    result = cfn_lint(*(synthesized.template_path for synthesized in variants.values()))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov_reports(variants: dict[str, SynthesizedApp]) -> list[dict[str, Any]]:
    return _checkov(*(synthesized.template_path for synthesized in variants.values()))


def test_checkov_has_no_failed_check(checkov_reports: list[dict[str, Any]]) -> None:
    failed = [
        (check["check_id"], "".join(line for _, line in check["code_block"]).strip().rstrip(","))
        for report in checkov_reports
        for check in report["results"]["failed_checks"]
    ]
    # The only finding is the secrets scan's false positive on the key source of the api-keys door.
    assert failed == [KEY_SOURCE_FALSE_POSITIVE]


def test_every_checkov_skip_has_a_written_reason(checkov_reports: list[dict[str, Any]]) -> None:
    skipped = _ids(checkov_reports, "skipped_checks")
    assert {"CKV_AWS_115", "CKV_AWS_120", "CKV_AWS_73", "CKV_AWS_192"} <= set(skipped)
    assert {check: comment for check, comment in skipped.items() if len(comment.strip()) < 20} == {}


def test_every_template_skip_is_still_needed(variants: dict[str, SynthesizedApp], tmp_path: Path) -> None:
    """Control: without the skip metadata checkov fails exactly the checks each template skips."""
    for name, synthesized in variants.items():
        template = synthesized.template()
        skipped = {
            skip["id"]
            for resource in template["Resources"].values()
            for skip in resource.get("Metadata", {}).pop("checkov", {}).get("skip", [])
        }
        bare = tmp_path / f"{name}.template.json"
        bare.write_text(json.dumps(template, indent=1))
        failed = {
            check for check in _ids(_checkov(bare), "failed_checks") if not check.startswith("CKV_SECRET")
        }
        assert failed == skipped, name
