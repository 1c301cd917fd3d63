"""Lays out Lambda task roots under bench/out/ as the image does, cached by the requirements' hash.

The function image runs `pip install -r requirements.txt --target /var/task` (botocore only), prunes
botocore's data to the services its BOTOCORE_SERVICES build argument keeps with runtime/prune_botocore.py,
copies bootstrap, streaming_runtime/ and bedrock_handler/ next to the packages and compiles everything
(runtime/Dockerfile). Docker is not available here, so the benchmarks rebuild that folder with the same
steps (bench/image_build.py). Variants:

- `image`: the Dockerfile's result (pruned as the Dockerfile prunes, byte code compiled at build time);
- `nopyc`: the same files without any .pyc (what the image would be without the compile step);
- `full`: `image` without the pruning (every botocore service model, compiled);
- `seed`: the seed's own image as its users would build it: boto3 (the dev requirements' pin, which
  goes with the image's botocore pin) plus `requests`, installed by a plain `pip install --target`
  (which byte-compiles what it installs, pip's default), the seed-style bootstrap and handler copied
  next to them (a Dockerfile COPY: not compiled), nothing pruned;
- `seed_nopyc`: the old, dishonest seed layout: the same files without the packages' .pyc (what
  `pip install --no-compile` leaves), so every cold start compiles boto3 and botocore;
- `runtime`: our runtime alone (bootstrap, streaming_runtime) with bench/trivial_handler.py, compiled as
  the Dockerfile compiles /var/task: the runtime start-up contender that needs no package;
- `awslambdaric` (prepare_awslambdaric(), on demand): AWS's runtime interface client, pinned in
  bench/requirements-awslambdaric.txt and installed by a plain `pip install --target` from wheels only
  (byte-compiled by pip), with bench/trivial_handler.py compiled next to it. Never part of the image;
- `metrics-<library>` (prepare_metrics_library(), on demand): one CloudWatch EMF writer the metrics
  benchmark measures against ours (aws-embedded-metrics, aws-lambda-powertools), installed the same way
  with every dependency pinned by the constraints file bench/requirements-metrics-libs.txt; one root per
  library, so neither sees the other's packages. Never part of the image.

The installed packages are cached in bench/out/.task_roots/<key>/, the key hashing the requirements
file, the kept services, the prune script, the seed's pins, the interpreter version and this layout's
version, so reruns only re-copy (and re-compile) our own few files; the awslambdaric and library roots are
rebuilt when their requirements file changes.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from bench.image_build import (
    OUT_DIR,
    PRUNE_SCRIPT,
    RUNTIME_DIR,
    SKIP_BYTECODE,
    compile_tree,
    copy_ours,
    interpreter,
    kept_services,
    pip_install,
    prune_botocore_data,
)

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = RUNTIME_DIR / "requirements.txt"
# 3: the seed root byte-compiled by pip (its default), `seed_nopyc` the old layout, the `runtime` root;
# the image botocore only, pruned by the Dockerfile's script.
LAYOUT_VERSION = "3"
# What the Dockerfile copies next to the packages.
RUNTIME_FILES = ("bootstrap", "streaming_runtime", "bedrock_handler")
SEED_FILES = ("baseline_bootstrap.py", "seed_handler.py")
# The runtime start-up comparison: our runtime alone, and a handler that imports nothing.
RUNTIME_ONLY_FILES = ("bootstrap", "streaming_runtime")
TRIVIAL_HANDLER = "trivial_handler.py"
VARIANTS = ("image", "nopyc", "full", "seed", "seed_nopyc", "runtime")
AWSLAMBDARIC_REQUIREMENTS = REPO / "bench" / "requirements-awslambdaric.txt"
AWSLAMBDARIC = "awslambdaric"
METRICS_LIBRARIES_CONSTRAINTS = REPO / "bench" / "requirements-metrics-libs.txt"
METRICS_LIBRARIES = ("aws-embedded-metrics", "aws-lambda-powertools")


@dataclass(frozen=True, slots=True)
class TaskRoots:
    """The laid-out task roots, the interpreter that runs them and how they were obtained."""

    interpreter: Path
    interpreter_version: str
    roots: dict[str, Path]
    cache_key: str
    cached: bool

    def root(self, variant: str) -> Path:
        return self.roots[variant]


def _dev_pin(name: str) -> str:
    """`name` pinned as the dev requirements pin it (the unpinned name if they do not)."""
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        if line.strip().lower().startswith(f"{name}=="):
            return line.strip()
    return name


def seed_pins() -> tuple[str, ...]:
    """What the seed root adds to runtime/requirements.txt (its botocore pin): boto3, which the seed's
    handler imports, and requests, which its bootstrap imports, pinned as the dev requirements pin them."""
    return (_dev_pin("boto3"), _dev_pin("requests"))


def cache_key() -> str:
    _, version = interpreter()
    digest = hashlib.sha256()
    parts = (REQUIREMENTS.read_bytes(), " ".join(kept_services()).encode(), PRUNE_SCRIPT.read_bytes(),
             " ".join(seed_pins()).encode(), version.encode(), LAYOUT_VERSION.encode())  # fmt: skip
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _build_packages(base: Path) -> None:
    """The cached, package-only layouts (no files of ours yet); built in a temporary folder, then moved."""
    staging = base.with_name(base.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    plain = staging / "nopyc"
    pip_install(plain, "-r", str(REQUIREMENTS), compile_pyc=False)
    shutil.copytree(plain, staging / "full", symlinks=True)
    compile_tree(staging / "full")
    shutil.copytree(staging / "full", staging / "image", symlinks=True)
    prune_botocore_data(staging / "image", kept_services())
    prune_botocore_data(plain, kept_services())
    # The seed's image: a plain `pip install`, which byte-compiles (pip's default).
    pip_install(staging / "seed", "-r", str(REQUIREMENTS), *seed_pins(), compile_pyc=True)
    # The old baseline: the same files without the .pyc pip wrote (= what --no-compile installs).
    shutil.copytree(staging / "seed", staging / "seed_nopyc", symlinks=True, ignore=SKIP_BYTECODE)
    (staging / "complete").write_text(" ".join(seed_pins()) + "\n")
    shutil.rmtree(base, ignore_errors=True)
    staging.rename(base)


def prepare() -> TaskRoots:
    """Lay out (or reuse) every variant and copy the current runtime and handler files into them."""
    key = cache_key()
    base = OUT_DIR / key
    cached = (base / "complete").exists()
    if not cached:
        for stale in OUT_DIR.glob("*"):  # layouts of older requirements: ~90 MiB each
            if stale.is_dir() and not stale.name.startswith("bin-") and stale.name != key:
                shutil.rmtree(stale, ignore_errors=True)
        _build_packages(base)
    for variant in ("image", "nopyc", "full"):
        root = base / variant
        copy_ours(root, RUNTIME_FILES, RUNTIME_DIR)
        if variant != "nopyc":
            compile_tree(root, "streaming_runtime", "bedrock_handler")
    for variant in ("seed", "seed_nopyc"):  # COPY'd by a Dockerfile: no compile step of their own
        copy_ours(base / variant, SEED_FILES, REPO / "bench")
    runtime_only = base / "runtime"
    runtime_only.mkdir(exist_ok=True)
    copy_ours(runtime_only, RUNTIME_ONLY_FILES, RUNTIME_DIR)
    copy_ours(runtime_only, (TRIVIAL_HANDLER,), REPO / "bench")
    compile_tree(runtime_only)
    executable, version = interpreter()
    return TaskRoots(
        interpreter=executable,
        interpreter_version=version,
        roots={variant: base / variant for variant in VARIANTS},
        cache_key=key,
        cached=cached,
    )


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _pip_root(root: Path, wanted: str, *requirements: str) -> None:
    """`root` installed by pip from wheels only (byte-compiled, pip's default) unless its marker already
    holds `wanted` (the digest of what it was installed from); built in a staging folder, then moved."""
    marker = root.with_name(root.name + ".complete")
    if marker.exists() and marker.read_text() == wanted and root.is_dir():
        return
    marker.unlink(missing_ok=True)
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    pip_install(staging, *requirements, compile_pyc=True, wheels_only=True)
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    marker.write_text(wanted)


def prepare_awslambdaric(roots: TaskRoots) -> Path:
    """Lay out (or reuse) the awslambdaric task root next to `roots`: the pinned client installed by pip
    from wheels only (byte-compiled, pip's default) plus bench/trivial_handler.py, compiled. Raises
    InstallError when pip cannot install it (no wheel for this interpreter, registry unreachable)."""
    root = roots.roots["runtime"].parent / AWSLAMBDARIC
    _pip_root(root, _file_digest(AWSLAMBDARIC_REQUIREMENTS), "-r", str(AWSLAMBDARIC_REQUIREMENTS))
    copy_ours(root, (TRIVIAL_HANDLER,), REPO / "bench")
    compile_tree(root, TRIVIAL_HANDLER)
    return root


def prepare_metrics_library(roots: TaskRoots, library: str) -> Path:
    """Lay out (or reuse) the task root of one of METRICS_LIBRARIES next to `roots`: the library and its
    dependencies at the versions bench/requirements-metrics-libs.txt pins, installed by pip from wheels
    only (byte-compiled, pip's default), nothing else. Raises InstallError when pip cannot install it."""
    if library not in METRICS_LIBRARIES:
        raise ValueError(f"not a metrics library contender: {library!r} (one of {METRICS_LIBRARIES})")
    root = roots.roots["runtime"].parent / f"metrics-{library}"
    wanted = f"{_file_digest(METRICS_LIBRARIES_CONSTRAINTS)} {library}"
    _pip_root(root, wanted, "-c", str(METRICS_LIBRARIES_CONSTRAINTS), library)
    return root


def installed_distributions(root: Path) -> tuple[str, ...]:
    """`name==version` of every distribution pip installed into `root` (from its .dist-info folders)."""
    found = []
    for info in sorted(root.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found.append(f"{name}=={version}")
    return tuple(found)


def tree_size(root: Path) -> tuple[int, int]:
    """(bytes, files) under `root` (symlinks not followed)."""
    total = files = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total, files


def commit_available(commit: str) -> str | None:
    """The full id of `commit` when this checkout's git history has it (None: no git, a shallow clone or
    an export without history), so a benchmark can skip its contender instead of failing."""
    try:
        found = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    full = found.stdout.strip()
    return full if found.returncode == 0 and full else None


def prepare_at_commit(roots: TaskRoots, commit: str, variant: str) -> TaskRoots:
    """`roots` plus a `variant` root: the `image` layout with the runtime and handler files of `commit`
    (from `git archive`) instead of the working tree's, compiled as the Dockerfile compiles them.

    The packages are hard links to the image root's files (the same bytes, the same page cache), so only
    our own files differ. Raises RuntimeError when git cannot export the commit (see commit_available).
    """
    image = roots.root("image")
    root = image.parent / variant
    shutil.rmtree(root, ignore_errors=True)
    ours = {*RUNTIME_FILES}
    shutil.copytree(
        image,
        root,
        symlinks=True,
        copy_function=os.link,
        ignore=lambda folder, names: [n for n in names if folder == str(image) and n in ours],
    )
    with tempfile.TemporaryDirectory(prefix="bench-commit-") as scratch:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit,
             *(f"runtime/{name}" for name in RUNTIME_FILES)],
            capture_output=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {commit} failed: {archive.stderr.decode(errors='replace')}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(scratch, filter="data")
        copy_ours(root, RUNTIME_FILES, Path(scratch) / "runtime")
    compile_tree(root, "streaming_runtime", "bedrock_handler")
    return replace(roots, roots={**roots.roots, variant: root})
