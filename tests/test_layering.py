"""The layering contracts hold: `lint-imports` keeps every contract in .importlinter, and app.py
(a top-level module import-linter cannot take as a root package) imports none of the layers below."""

from __future__ import annotations

import ast
import configparser
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".importlinter"
# What app.py must not import: the function's code, the local tooling, the client.
NOT_FOR_APP = {"streaming_runtime", "bedrock_handler", "emulator", "stream_client", "bench"}


def contract_names() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return [
        parser[section]["name"]
        for section in parser.sections()
        if section.startswith("importlinter:contract:")
    ]


def test_every_import_contract_is_kept() -> None:
    names = contract_names()
    assert len(names) >= 6  # the file parsed; contracts are only ever added
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "runtime")]),
        "COLUMNS": "200",  # no wrapped report lines
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--config", str(CONFIG)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout + result.stderr
    for name in names:
        assert f"{name} KEPT" in report, report
    assert f"Contracts: {len(names)} kept, 0 broken." in report


def imported_roots(source: Path) -> set[str]:
    """Top-level names of everything a module imports (relative imports would be of a package)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), filename=str(source))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_app_imports_neither_runtime_nor_emulator() -> None:
    roots = imported_roots(REPO / "app.py")
    assert "stacks" in roots  # the check reads the real imports
    assert not roots & NOT_FOR_APP
