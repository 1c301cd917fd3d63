"""The image contents laid out the Dockerfile's way in a temporary folder, run from there with a clean env."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from recording_api import RecordingApi
from runtime_process import REPO

RUNTIME_DIR = REPO / "runtime"
DOCKERFILE = RUNTIME_DIR / "Dockerfile"

CHECK_DEPS = """
import boto3, botocore

def handler(event, context):
    yield boto3.__file__ + "\\n"
    yield botocore.__version__
"""


def _dockerfile_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY, with ${LAMBDA_TASK_ROOT} left for the caller to resolve."""
    return re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", DOCKERFILE.read_text(), flags=re.MULTILINE)


def test_dockerfile_contract() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[2-9]\s*$", text, flags=re.MULTILINE)
    assert "--platform" not in text
    assert (
        'pip install --no-cache-dir -r "${LAMBDA_TASK_ROOT}/requirements.txt" --target "${LAMBDA_TASK_ROOT}"'
        in text
    )
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
        post = api.wait_post(kind="response", request_id=api.enqueue({}), timeout=60)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    boto3_file, botocore_version = post.body.decode().split("\n")
    assert Path(boto3_file).resolve().is_relative_to(task_root.resolve()), output
    pinned = dict(
        line.split("==")
        for line in (RUNTIME_DIR / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    assert botocore_version == pinned["botocore"]
    assert pyc_before == {
        path: path.stat().st_mtime_ns for path in task_root.rglob("streaming_runtime/**/*.pyc")
    }
