"""The image's build steps without Docker, run by its interpreter's stand-in: pip, COPY, compileall, pruning.

runtime/Dockerfile runs `pip install -r requirements.txt --target /var/task`, prunes botocore's data to
the services its BOTOCORE_SERVICES build argument keeps with runtime/prune_botocore.py, copies our files
next to the packages and compiles everything. Docker is not available here, so the benchmarks take the
same steps with the same pip and the interpreter closest to the image's (python3.12 when this machine
has one); bench/task_roots.py decides which steps each task root gets.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME_DIR = REPO / "runtime"
DOCKERFILE = RUNTIME_DIR / "Dockerfile"
PRUNE_SCRIPT = RUNTIME_DIR / "prune_botocore.py"  # the Dockerfile's build-time pruning step
# A dot-folder: mypy (whose `files` include bench/) skips those, so it never sees the copied packages.
OUT_DIR = REPO / "bench" / "out" / ".task_roots"
# The Dockerfile's default for the services its pruning loop keeps: `ARG BOTOCORE_SERVICES="a b"`.
_KEEP_ARG = re.compile(r'^ARG BOTOCORE_SERVICES="([^"]*)"', re.MULTILINE)
SKIP_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def kept_services() -> tuple[str, ...]:
    """The botocore/data service folders the Dockerfile keeps by default; () when it does not prune."""
    match = _KEEP_ARG.search(DOCKERFILE.read_text())
    services = tuple(match.group(1).split()) if match else ()
    return () if "all" in services else services


@functools.cache
def interpreter() -> tuple[Path, str]:
    """The image's interpreter stand-in: a working python3.12 (the base image's version) if this machine
    has one, else the base interpreter behind the running one (never a venv, so nothing leaks in)."""
    candidates: list[str] = []
    found = shutil.which("python3.12")
    if found:
        candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.12*/bin/python3.12"), reverse=True)
    candidates.append(getattr(sys, "_base_executable", sys.executable))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-I", "-c", "import sys; print(sys.executable); print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0:
            executable, version = probe.stdout.split()
            return Path(executable), version
    raise RuntimeError(f"no usable interpreter among {candidates}")


def python_shim_dir() -> Path:
    """A folder whose `python3` is the chosen interpreter, to put first on a runtime's PATH
    (runtime/bootstrap runs `python3`)."""
    executable, version = interpreter()
    shim = OUT_DIR / f"bin-{version}"
    link = shim / "python3"
    if not (link.is_symlink() and link.resolve() == executable.resolve()):
        shim.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(executable)
    return shim


class InstallError(RuntimeError):
    """pip could not install a task root's requirements (e.g. no wheel for this interpreter, offline)."""


def pip_install(target: Path, *requirements: str, compile_pyc: bool, wheels_only: bool = False) -> None:
    """`pip install --target` with the task roots' interpreter; `compile_pyc=True` is pip's default (it
    byte-compiles what it installs), False adds --no-compile."""
    executable, _ = interpreter()
    options = [
        *([] if compile_pyc else ["--no-compile"]),
        *(["--only-binary", ":all:"] if wheels_only else []),
    ]
    installed = subprocess.run(
        [str(executable), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-cache-dir", *options, "--target", str(target), *requirements],
        check=False,
        timeout=600,
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_NO_WARN_SCRIPT_LOCATION": "1", "PIP_ROOT_USER_ACTION": "ignore"},
    )  # fmt: skip
    if installed.returncode != 0:
        raise InstallError(f"pip install into {target} failed:\n{installed.stderr}")


def copy_ours(root: Path, names: tuple[str, ...], source: Path) -> None:
    """As a Dockerfile COPY: each of `names` from `source` into `root`, replacing it, without caches."""
    for name in names:
        target = root / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        origin = source / name
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=SKIP_BYTECODE)
        else:
            shutil.copy2(origin, target)


def compile_tree(root: Path, *subpaths: str) -> None:
    """`python -m compileall -q` as the Dockerfile runs it (on the whole root, or on `subpaths`)."""
    executable, _ = interpreter()
    targets = [str(root / sub) for sub in subpaths] if subpaths else [str(root)]
    subprocess.run(
        [str(executable), "-m", "compileall", "-q", *targets],
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )


def prune_botocore_data(root: Path, keep: tuple[str, ...]) -> None:
    """As the Dockerfile does: `python prune_botocore.py ROOT SERVICE...` (runtime/prune_botocore.py, with
    the task roots' interpreter), keeping the `keep` services' model folders and endpoints.json entries;
    nothing is pruned when `keep` is empty (the build argument's "all")."""
    if not keep:
        return
    executable, _ = interpreter()
    subprocess.run([str(executable), str(PRUNE_SCRIPT), str(root), *keep], check=True, timeout=120)
