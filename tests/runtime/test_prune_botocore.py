"""runtime/prune_botocore.py, the Dockerfile's build step, on a small botocore data tree of known content."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_process import REPO

SCRIPT = REPO / "runtime" / "prune_botocore.py"

ENDPOINTS = {
    "version": 3,
    "partitions": [
        {
            "partition": "aws",
            "defaults": {"hostname": "{service}.{region}.{dnsSuffix}"},
            "regions": {"us-east-1": {}},
            "services": {
                "s3": {"endpoints": {"us-east-1": {}}},
                "monitoring": {"endpoints": {"us-east-1": {}}},
                "ec2": {"endpoints": {"us-east-1": {}}},
            },
        },
        {"partition": "aws-cn", "regions": {"cn-north-1": {}}, "services": {"s3": {}, "ec2": {}}},
    ],
}


def _model(root: Path, service: str, version: str, prefix: str, *, gzipped: bool) -> None:
    folder = root / "botocore" / "data" / service / version
    folder.mkdir(parents=True)
    body = json.dumps({"metadata": {"endpointPrefix": prefix}})
    if gzipped:
        (folder / "service-2.json.gz").write_bytes(gzip.compress(body.encode()))
    else:
        (folder / "service-2.json").write_text(body)


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    _model(tmp_path, "bedrock-runtime", "2023-09-30", "bedrock-runtime", gzipped=True)
    _model(tmp_path, "s3", "2006-03-01", "s3", gzipped=False)
    # CloudWatch's endpoints are listed under its endpoint prefix, not its folder name; the newest
    # version's model is the one read.
    _model(tmp_path, "cloudwatch", "2009-01-01", "old-prefix", gzipped=True)
    _model(tmp_path, "cloudwatch", "2010-08-01", "monitoring", gzipped=True)
    _model(tmp_path, "ec2", "2016-11-15", "ec2", gzipped=True)
    data = tmp_path / "botocore" / "data"
    (data / "endpoints.json").write_text(json.dumps(ENDPOINTS, indent=2))
    (data / "partitions.json").write_text("{}")
    return tmp_path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


def _services(root: Path) -> list[dict[str, object]]:
    document = json.loads((root / "botocore" / "data" / "endpoints.json").read_text())
    return [partition["services"] for partition in document["partitions"]]


def test_keeps_named_services_and_their_endpoint_entries(task_root: Path) -> None:
    done = _run(str(task_root), "bedrock-runtime", "s3", "cloudwatch")
    assert done.returncode == 0, done.stderr
    data = task_root / "botocore" / "data"
    assert sorted(path.name for path in data.iterdir()) == [
        "bedrock-runtime", "cloudwatch", "endpoints.json", "partitions.json", "s3",
    ]  # fmt: skip
    assert _services(task_root) == [
        {"s3": {"endpoints": {"us-east-1": {}}}, "monitoring": {"endpoints": {"us-east-1": {}}}},
        {"s3": {}},
    ]
    document = json.loads((data / "endpoints.json").read_text())
    assert document["version"] == 3
    assert document["partitions"][0]["defaults"] == ENDPOINTS["partitions"][0]["defaults"]
    assert document["partitions"][0]["regions"] == {"us-east-1": {}}
    assert (data / "partitions.json").read_text() == "{}"


def test_all_keeps_everything(task_root: Path) -> None:
    before = (task_root / "botocore" / "data" / "endpoints.json").read_text()
    assert _run(str(task_root), "all").returncode == 0
    data = task_root / "botocore" / "data"
    assert {path.name for path in data.iterdir() if path.is_dir()} == {
        "bedrock-runtime",
        "s3",
        "cloudwatch",
        "ec2",
    }
    assert (data / "endpoints.json").read_text() == before


def test_a_task_root_without_botocore_is_a_one_line_error(tmp_path: Path) -> None:
    done = _run(str(tmp_path), "bedrock-runtime")
    assert done.returncode == 2
    assert done.stderr.startswith("prune_botocore: ") and done.stderr.count("\n") == 1


def test_usage_error_without_services(tmp_path: Path) -> None:
    done = _run(str(tmp_path))
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "usage: python prune_botocore.py TASK_ROOT SERVICE [SERVICE ...] | all",
    )
