"""What the cold-start and memory benchmarks spawn: the contenders, Lambda's environment, their events.

The offline Bedrock stand-in as its own process (`python -m emulator bedrock-stub --port 0`), the
environment Lambda gives a function (and nothing from this shell or .venv), the contenders (ours, the
seed-style baseline, the Bedrock-client floor), and the Function URL events they are invoked with.
bench/cold_harness.py spawns and times them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.image_build import REPO, python_shim_dir
from bench.processes import end_process
from emulator.url_event import HttpRequest, build_event

REGION = "us-east-1"
_READY = re.compile(r"Bedrock stand-in: (http://\S+)")
# The floor: what any Python function using Bedrock pays before it can do anything. The image holds botocore
# only (its handler builds the client from a botocore session), so the floor is that same call on the same
# task root; boto3.client() delegates to it after importing boto3 (the seed-style root pays that import).
FLOOR_CODE = "import botocore.session; botocore.session.get_session().create_client('bedrock-runtime')"
# The floor kept alive long enough to read its peak RSS: the same, then its own VmHWM on stdout.
FLOOR_RSS_CODE = (
    FLOOR_CODE + "\nfor line in open('/proc/self/status'):\n"
    "    if line.startswith(('VmHWM:', 'VmRSS:')): print(line.strip())"
)


class StandIn:
    """`python -m emulator bedrock-stub --port 0` in its own process; `.url` once it is listening."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = f"{REPO}{os.pathsep}{REPO / 'runtime'}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "bedrock-stub", "--port", "0"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the ready line comes first; EOF if it died
        match = _READY.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the Bedrock stand-in did not start (printed {line!r})")
        self.url = match.group(1)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        end_process(self._process, grace_s=10)


def function_env(*, root: Path, handler: str, api: str, bedrock_url: str) -> dict[str, str]:
    """Lambda's environment for a function in `root` (PROTOCOL.md §1.5), built from nothing: no PYTHON*
    or venv variables of this shell; PYTHONDONTWRITEBYTECODE as on Lambda's read-only file system."""
    return {
        "PATH": f"{python_shim_dir()}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "LAMBDA_TASK_ROOT": str(root),
        "_HANDLER": handler,
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHDUMMY",
        "AWS_SECRET_ACCESS_KEY": "bench-dummy-secret",
        "AWS_SESSION_TOKEN": "bench-dummy-token",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
        # No instance metadata probing, no ~/.aws files: the same for every contender.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def url_event(body: str, *, content_type: str) -> dict[str, Any]:
    """A Function URL (payload 2.0) POST event, as the emulator builds it."""
    request = HttpRequest(
        method="POST",
        target="/",
        headers=[("host", "localhost:3000"), ("content-type", content_type), ("user-agent", "bench")],
        body=body.encode(),
        source_ip="127.0.0.1",
        server_port=3000,
    )
    return build_event(request, request_id=str(uuid.uuid4()), epoch_ms=int(time.time() * 1000))


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of running a function: which task root, the command, its handler and its event."""

    name: str
    variant: str
    argv: Callable[[Path], list[str]]
    handler: str
    event: Callable[[str], dict[str, Any]]
    prelude: bool  # the response starts with the streaming prelude (status/headers JSON + 8 NULs)

    def env(self, root: Path, *, api: str, bedrock_url: str) -> dict[str, str]:
        env = function_env(root=root, handler=self.handler, api=api, bedrock_url=bedrock_url)
        if self.variant.startswith("seed") or self.name.startswith("floor"):
            # The seed's bootstrap imports requests before it puts the task root on sys.path: in its
            # image the packages were on the interpreter's path, as PYTHONPATH puts them here.
            env["PYTHONPATH"] = str(root)
        return env


def _ours_event(prompt: str) -> dict[str, Any]:
    return url_event(json.dumps({"prompt": prompt}), content_type="application/json")


def _seed_event(prompt: str) -> dict[str, Any]:
    return url_event(prompt, content_type="text/plain")


def ours(variant: str, name: str) -> Contender:
    """runtime/bootstrap with bedrock_handler, from the `variant` task root."""
    return Contender(name, variant, lambda root: [str(root / "bootstrap")], "bedrock_handler.app.handler",
                     _ours_event, prelude=True)  # fmt: skip


def seed(variant: str, name: str) -> Contender:
    """bench/baseline_bootstrap.py with bench/seed_handler.py, from the `variant` task root."""
    return Contender(name, variant, lambda root: ["python3", str(root / "baseline_bootstrap.py")],
                     "seed_handler.handler", _seed_event, prelude=False)  # fmt: skip


# The honest seed-style baseline: its packages byte-compiled by pip, as its own image would have them.
BASELINE = seed("seed", "baseline")
# The old baseline (pip --no-compile: boto3 compiled at every cold start), kept as an explanatory row.
BASELINE_NOPYC = seed("seed_nopyc", "baseline, no .pyc")
FLOOR = Contender(
    "floor", "image", lambda root: ["python3", "-c", FLOOR_CODE], "-", _ours_event, prelude=False
)
