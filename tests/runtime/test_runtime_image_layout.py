"""The image contents laid out the Dockerfile's way in a temporary folder, run from there with a clean env."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest
from recording_api import RecordingApi
from runtime_process import REPO

RUNTIME_DIR = REPO / "runtime"
DOCKERFILE = RUNTIME_DIR / "Dockerfile"

CHECK_DEPS = """
import json, botocore, botocore.session

def handler(event, context):
    session = botocore.session.get_session()
    clients = [session.create_client("bedrock-runtime", region_name=r) for r in event["regions"]]
    urls = [client.meta.endpoint_url for client in clients]
    yield json.dumps({"file": botocore.__file__, "version": botocore.__version__, "urls": urls})
"""
# One region of each partition the pruned endpoints.json still has to resolve.
REGIONS = ["us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"]


def _dockerfile_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY into the task root, with ${LAMBDA_TASK_ROOT} left for the caller
    to resolve (build-only files copied elsewhere, like the prune script, are not part of the task root)."""
    copies = re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    return [(source, target) for source, target in copies if target.startswith("${LAMBDA_TASK_ROOT}")]


def _kept_services() -> list[str]:
    match = re.search(r'^ARG BOTOCORE_SERVICES="([^"]*)"', DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert match is not None, "the Dockerfile no longer declares BOTOCORE_SERVICES"
    return match[1].split()


def test_dockerfile_contract() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[2-9]\s*$", text, flags=re.MULTILINE)
    assert "--platform" not in text
    assert (
        'pip install --no-cache-dir -r "${LAMBDA_TASK_ROOT}/requirements.txt" --target "${LAMBDA_TASK_ROOT}"'
        in text
    )
    assert 'python /tmp/prune_botocore.py "${LAMBDA_TASK_ROOT}" ${BOTOCORE_SERVICES}' in text
    assert "COPY prune_botocore.py /tmp/prune_botocore.py" in text
    assert 'python -m compileall -q "${LAMBDA_TASK_ROOT}"' in text
    assert 'ENTRYPOINT ["/var/task/bootstrap"]' in text
    assert 'CMD ["bedrock_handler.app.handler"]' in text
    ignored = (RUNTIME_DIR / ".dockerignore").read_text().split()
    for pattern in ("**/__pycache__", "**/*.pyc", "**/tests", "**/.pytest_cache"):
        assert pattern in ignored


def test_hadolint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.slow
def test_image_layout_runs_bootstrap_with_deps_from_task_root(tmp_path: Path, api: RecordingApi) -> None:
    task_root = tmp_path / "var" / "task"
    task_root.mkdir(parents=True)
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir",
         "-r", str(RUNTIME_DIR / "requirements.txt"), "--target", str(task_root)],
        capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr.decode()
    for source, destination in _dockerfile_copies():
        target = Path(destination.replace("${LAMBDA_TASK_ROOT}", str(task_root)))
        if (RUNTIME_DIR / source).is_dir():
            shutil.copytree(
                RUNTIME_DIR / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(RUNTIME_DIR / source, target)
    # The Dockerfile's prune step, with its default services.
    prune = subprocess.run(
        [sys.executable, str(RUNTIME_DIR / "prune_botocore.py"), str(task_root), *_kept_services()],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert prune.returncode == 0, prune.stderr.decode()
    data = task_root / "botocore" / "data"
    assert sorted(path.name for path in data.iterdir() if path.is_dir()) == sorted(_kept_services())
    assert not (task_root / "boto3").exists(), "the image installs botocore only; nothing imports boto3"
    (task_root / "check_deps.py").write_text(CHECK_DEPS)
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(task_root)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout.decode()
    assert (task_root / "bootstrap").stat().st_mode & 0o111
    pyc_before = {path: path.stat().st_mtime_ns for path in task_root.rglob("streaming_runtime/**/*.pyc")}
    assert pyc_before

    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {
        # python3 from the venv stands in for the image's interpreter; PYTHONPATH is deliberately unset.
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "layout",
    }
    process = subprocess.Popen(
        [str(task_root / "bootstrap"), "check_deps.handler"],
        env=env, cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        post = api.wait_post(kind="response", request_id=api.enqueue({"regions": REGIONS}), timeout=60)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    report = json.loads(post.body)
    assert Path(report["file"]).resolve().is_relative_to(task_root.resolve()), output
    # The pruned endpoints.json resolves every partition as the complete one in .venv does.
    complete = botocore.session.get_session()
    assert report["urls"] == [
        complete.create_client("bedrock-runtime", region_name=region).meta.endpoint_url for region in REGIONS
    ]
    pinned = dict(
        line.split("==")
        for line in (RUNTIME_DIR / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    assert report["version"] == pinned["botocore"]
    assert pyc_before == {
        path: path.stat().st_mtime_ns for path in task_root.rglob("streaming_runtime/**/*.pyc")
    }
