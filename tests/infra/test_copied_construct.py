"""Copying the construct as the README says (`stacks/` files and `runtime/`) into another app is enough."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.infra.conftest import REPO_ROOT

README = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
SECTION = README.split("\n## Use the construct in your own app\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_snippet_synthesizes_in_a_fresh_project(tmp_path: Path) -> None:
    listed = [
        name for name in SECTION.split("\n\n", 1)[0].replace("\n", " ").split("`") if name.endswith(".py")
    ]
    assert "bedrock_streaming_function.py" in listed
    (tmp_path / "stacks").mkdir()
    for name in listed:
        shutil.copy(REPO_ROOT / "stacks" / name, tmp_path / "stacks" / name)
    shutil.copytree(REPO_ROOT / "runtime", tmp_path / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    snippet = SECTION.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.py").write_text(snippet, encoding="utf-8")
    outdir = tmp_path / "cdk.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # only the copy
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**env, "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((outdir / "Chat.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("AWS::Lambda::Url") == 1 and "AWS::Lambda::Function" in types
    url = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Url")
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    assert "Url" in template["Outputs"]
    staged = [path.name for path in outdir.iterdir() if path.name.startswith("asset.")]
    assert len(staged) == 1 and (outdir / staged[0] / "bootstrap").is_file()  # runtime/ beside the copy
    grants = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        action for s in grants for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} <= actions  # grant_invoke_url on the caller
