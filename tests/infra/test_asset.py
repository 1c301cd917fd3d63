"""The image asset staged in cdk.out holds exactly the runtime's files: no tests, no caches."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from stacks.bedrock_streaming_function import IMAGE_EXCLUDES
from tests.infra.conftest import REPO_ROOT, RUNTIME_DIR, SynthesizedApp

CACHE_OR_TEST = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.hypothesis|tests)(/|$)|\.pyc$"
)


def _files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex over relative paths (a match on a directory covers its files)."""
    body = ""
    index = 0
    pattern = pattern.strip("/")
    while index < len(pattern):
        if pattern.startswith("**/", index):
            body, index = body + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            body, index = body + ".*", index + 2
        elif pattern[index] == "*":
            body, index = body + "[^/]*", index + 1
        elif pattern[index] == "?":
            body, index = body + "[^/]", index + 1
        else:
            body, index = body + re.escape(pattern[index]), index + 1
    return re.compile(f"^{body}(?:/.*)?$")


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:  # later patterns win, "!" re-includes, as Docker applies them
        negated = pattern.startswith("!")
        if _pattern_regex(pattern.lstrip("!")).match(path):
            ignored = not negated
    return ignored


def _ignore_patterns() -> list[str]:
    dockerignore = RUNTIME_DIR / ".dockerignore"
    lines = dockerignore.read_text().splitlines() if dockerignore.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")] + list(
        IMAGE_EXCLUDES
    )


@pytest.fixture(scope="module")
def staged(synthesized_app: SynthesizedApp) -> Path:
    manifest = json.loads(
        (synthesized_app.outdir / f"{synthesized_app.stack.stack_name}.assets.json").read_text()
    )
    images = list(manifest["dockerImages"].values())
    assert len(images) == 1
    return synthesized_app.outdir / str(images[0]["source"]["directory"])


def test_staged_asset_holds_exactly_the_runtime_files(staged: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "runtime"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    patterns = _ignore_patterns()
    expected = {
        path.removeprefix("runtime/")
        for path in listed
        if (REPO_ROOT / path).exists() and not _ignored(path.removeprefix("runtime/"), patterns)
    }
    assert _files_under(staged) == expected


def test_staged_asset_has_no_tests_or_caches_and_has_the_runtime(staged: Path) -> None:
    files = _files_under(staged)
    assert {path for path in files if CACHE_OR_TEST.search(path)} == set()
    assert {
        "Dockerfile",
        "bootstrap",
        "requirements.txt",
        "streaming_runtime/__init__.py",
        "bedrock_handler/__init__.py",
    } <= files


def test_bootstrap_stays_executable_in_the_staged_asset(staged: Path) -> None:
    assert os.access(staged / "bootstrap", os.X_OK)


@pytest.mark.parametrize(
    ("path", "pattern", "ignored"),
    [
        ("a/__pycache__/x.pyc", "**/__pycache__", True),
        ("__pycache__/x.pyc", "**/__pycache__", True),
        ("x.pyc", "**/*.pyc", True),
        ("pkg/mod.py", "**/*.pyc", False),
        ("tests/test_x.py", "tests", True),
        ("README.md", "*.md", True),
        ("pkg/README.md", "*.md", False),
    ],
)
def test_ignore_matcher_follows_docker_semantics(path: str, pattern: str, ignored: bool) -> None:
    assert _ignored(path, [pattern]) is ignored
