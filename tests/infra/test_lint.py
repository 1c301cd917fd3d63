"""cfn-lint, checkov and hadolint over the synthesized template and runtime/Dockerfile."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import REPO_ROOT, RUNTIME_DIR, SynthesizedApp

VENV_BIN = Path(sys.executable).parent
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
DOCKERFILE = RUNTIME_DIR / "Dockerfile"
TOOL_TIMEOUT_S = 240


def _tool(name: str) -> str:
    path = VENV_BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run `make setup`")
    return found


def cfn_lint(*templates: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint over `templates`, W3005 ignored (as every lint test here ignores it)."""
    return subprocess.run(
        [_tool("cfn-lint"), *(str(template) for template in templates), "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )


def test_cfn_lint_is_clean_except_w3005(synthesized_app: SynthesizedApp) -> None:
    result = cfn_lint(synthesized_app.template_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _checkov(*files: Path) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed; run `make .venv-checkov/.installed`")
    args = [str(CHECKOV), "--skip-download", "-o", "json"]
    for file in files:
        args += ["-f", str(file)]
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False, cwd=REPO_ROOT
    )
    assert result.stdout, result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def _ids(reports: list[dict[str, Any]], outcome: str) -> dict[str, str]:
    return {
        check["check_id"]: check["check_result"].get("suppress_comment", "")
        for report in reports
        for check in report["results"][outcome]
    }


@pytest.fixture(scope="module")
def checkov_reports(synthesized_app: SynthesizedApp) -> list[dict[str, Any]]:
    files = [synthesized_app.template_path] + ([DOCKERFILE] if DOCKERFILE.exists() else [])
    return _checkov(*files)


def test_checkov_has_no_failed_check(checkov_reports: list[dict[str, Any]]) -> None:
    failed = {c["check_id"]: c["file_path"] for r in checkov_reports for c in r["results"]["failed_checks"]}
    assert failed == {}


def test_every_checkov_skip_has_a_written_reason(checkov_reports: list[dict[str, Any]]) -> None:
    skipped = _ids(checkov_reports, "skipped_checks")
    assert skipped, "expected the documented skips (DLQ, VPC, env encryption, log KMS)"
    assert {check: comment for check, comment in skipped.items() if len(comment.strip()) < 20} == {}


def test_every_template_skip_is_still_needed(synthesized_app: SynthesizedApp, tmp_path: Path) -> None:
    """Control: without the skip metadata checkov fails exactly the checks we skip (no stale skips)."""
    template = synthesized_app.template()
    skipped: set[str] = set()
    for resource in template["Resources"].values():
        for skip in resource.get("Metadata", {}).pop("checkov", {}).get("skip", []):
            skipped.add(skip["id"])
    bare = tmp_path / "bare.template.json"
    bare.write_text(json.dumps(template))
    assert set(_ids(_checkov(bare), "failed_checks")) == skipped


def test_hadolint_is_clean_on_the_dockerfile() -> None:
    if not DOCKERFILE.exists():
        pytest.skip("runtime/Dockerfile does not exist yet")
    result = subprocess.run(
        [_tool("hadolint"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
