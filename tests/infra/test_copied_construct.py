"""Copying a construct as docs/deploy.md says (`stacks/` files, `runtime/`, `authorizer/`) is enough."""

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
REST_SECTION = README.split("\n### Use the REST API construct in your own app\n", 1)[1].split("\n## ", 1)[0]


def _listed(section: str) -> list[str]:
    """The ``.py`` files named in a section's first paragraph."""
    return [
        name for name in section.split("\n\n", 1)[0].replace("\n", " ").split("`") if name.endswith(".py")
    ]


def _synthesize_copy(project: Path) -> Path:
    """Run the copied app.py with nothing of this repository on the path; returns its cloud assembly."""
    outdir = project / "cdk.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # only the copy
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=project,
        env={**env, "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


def test_the_readme_snippet_synthesizes_in_a_fresh_project(tmp_path: Path) -> None:
    listed = _listed(SECTION)
    assert "bedrock_streaming_function.py" in listed
    (tmp_path / "stacks").mkdir()
    for name in listed:
        shutil.copy(REPO_ROOT / "stacks" / name, tmp_path / "stacks" / name)
    shutil.copytree(REPO_ROOT / "runtime", tmp_path / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    snippet = SECTION.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.py").write_text(snippet, encoding="utf-8")
    outdir = _synthesize_copy(tmp_path)
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


def test_the_rest_api_snippet_synthesizes_in_a_fresh_project(tmp_path: Path) -> None:
    listed = _listed(SECTION) + _listed(REST_SECTION)
    assert {"bedrock_streaming_rest_api.py", "rest_api_auth.py"} <= set(_listed(REST_SECTION))
    (tmp_path / "stacks").mkdir()
    for name in listed:
        shutil.copy(REPO_ROOT / "stacks" / name, tmp_path / "stacks" / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "runtime", tmp_path / "runtime", ignore=ignore)
    shutil.copytree(REPO_ROOT / "authorizer", tmp_path / "authorizer", ignore=ignore)
    (tmp_path / "app.py").write_text(
        REST_SECTION.split("```python\n", 1)[1].split("```", 1)[0], encoding="utf-8"
    )
    outdir = _synthesize_copy(tmp_path)
    template = json.loads((outdir / "Chat.template.json").read_text())
    resources = template["Resources"].values()
    methods = [r["Properties"] for r in resources if r["Type"] == "AWS::ApiGateway::Method"]
    assert len(methods) == 2
    assert {m["Integration"]["ResponseTransferMode"] for m in methods} == {"STREAM"}
    assert {m["ApiKeyRequired"] for m in methods} == {True}
    # Without this repository's feature flags the construct still creates no account-wide CloudWatch role.
    assert not [
        r
        for r in resources
        if r["Type"] == "AWS::IAM::Role"
        and "apigateway" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert not [r for r in resources if r["Type"] == "AWS::ApiGateway::Account"]
    keys = [r for r in resources if r["Type"] == "AWS::ApiGateway::ApiKey"]
    assert len(keys) == 1 and "Value" not in keys[0]["Properties"]
    assert {"BaseUrl", "AliceKeyId"} <= set(template["Outputs"])
    staged = {path.name: path for path in outdir.iterdir() if path.name.startswith("asset.")}
    assert len(staged) == 2  # the image context and the authorizer zip, both beside the copy
    zips = [path for path in staged.values() if (path / "api_key_authorizer.py").is_file()]
    assert len(zips) == 1 and sorted(p.name for p in zips[0].iterdir()) == [
        "__init__.py",
        "api_key_authorizer.py",
    ]
