"""Task-root size: what the image's /var/task weighs (MiB, files), and what each layout choice costs or saves.

Sizes are the files' own bytes (no file-system blocks) under each layout of bench/task_roots.py. The
cold-start effect of each choice (compiled byte code, pruning botocore/data) is measured side by side
in the cold-start section; this section gives the sizes behind them.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import image_build, task_roots
from bench.results import Row, Section

MIB = 1024 * 1024
# The AWS SDK and what pip installs with it (what reusing the base image's copy would leave out): botocore
# and its dependencies in ours; boto3 and s3transfer besides in the seed-style root.
SDK_TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def _size(paths: list[Path]) -> tuple[float, int]:
    total = files = 0
    for path in paths:
        if path.is_file():
            total, files = total + path.stat().st_size, files + 1
        elif path.is_dir():
            size, count = task_roots.tree_size(path)
            total, files = total + size, files + count
    return total / MIB, files


def _pyc(root: Path) -> tuple[float, int]:
    return _size(list(root.rglob("*.pyc")))


_SDK_DISTRIBUTIONS = (
    "boto3-",
    "botocore-",
    "s3transfer-",
    "jmespath-",
    "python_dateutil-",
    "urllib3-",
    "six-",
)


def _sdk(root: Path) -> list[Path]:
    return [root / name for name in SDK_TOP_LEVEL] + [
        path for path in root.glob("*.dist-info") if path.name.lower().startswith(_SDK_DISTRIBUTIONS)
    ]


def run(*, quick: bool) -> list[Section]:
    """Lay out (or reuse) the task roots and weigh them; `quick` changes nothing (this is cheap)."""
    del quick
    started = time.monotonic()
    roots = task_roots.prepare()
    prepared_s = time.monotonic() - started
    image, full, seed = roots.root("image"), roots.root("full"), roots.root("seed")
    sizes = {name: task_roots.tree_size(root) for name, root in roots.roots.items()}
    mib = {name: size / MIB for name, (size, _) in sizes.items()}
    files = {name: count for name, (_, count) in sizes.items()}
    ours_mib, ours_files = _size([image / name for name in task_roots.RUNTIME_FILES])
    data_mib, data_files = _size([image / "botocore" / "data"])
    full_data_mib, full_data_files = _size([full / "botocore" / "data"])
    pyc_mib, pyc_files = _pyc(image)
    seed_pyc_mib, seed_pyc_files = _pyc(seed)
    sdk_mib, sdk_files = _size(_sdk(image))
    seed_sdk_mib, seed_sdk_files = _size(_sdk(seed))
    kept = ", ".join(image_build.kept_services()) or "(none: the Dockerfile does not prune)"
    rows = [
        Row("task root as the image lays it out: ours vs seed-style", mib["image"], mib["seed"], "MiB"),
        Row("files in the task root: ours vs seed-style", files["image"], files["seed"], "count"),
        Row("task root: pruned (ours) vs not pruned", mib["image"], mib["full"], "MiB"),
        Row("files: pruned (ours) vs not pruned", files["image"], files["full"], "count"),
        Row("botocore/data: pruned (ours) vs not pruned", data_mib, full_data_mib, "MiB"),
        Row("botocore/data files: pruned (ours) vs not pruned", data_files, full_data_files, "count"),
        Row("compiled byte code (.pyc): ours vs seed-style", pyc_mib, seed_pyc_mib, "MiB"),
        Row("compiled byte code (.pyc) files: ours vs seed-style", pyc_files, seed_pyc_files, "count"),
        Row("AWS SDK (ours: botocore + deps; seed-style: boto3 + botocore + deps)", sdk_mib, seed_sdk_mib,
            "MiB"),
        Row("AWS SDK files: ours vs seed-style", sdk_files, seed_sdk_files, "count"),
        Row("runtime + handler (bootstrap, streaming_runtime, bedrock_handler, with .pyc)", ours_mib, None,
            "MiB"),
        Row("runtime + handler files", ours_files, None, "count"),
    ]  # fmt: skip
    notes = [
        "ours = pip install -r runtime/requirements.txt --target (botocore only), botocore's data pruned by "
        f"runtime/prune_botocore.py to the services the Dockerfile keeps ({kept}), bootstrap + "
        "streaming_runtime + bedrock_handler copied, compileall: runtime/Dockerfile's steps, reproduced by "
        f"bench/task_roots.py with the interpreter {roots.interpreter_version}. seed-style = the seed's own "
        "image as its users would build it: the same botocore pin plus "
        f"{' and '.join(task_roots.seed_pins())} installed by a plain `pip install --target` (which "
        "byte-compiles what it installs), no pruning, the seed bootstrap and handler copied.",
        "Sizes are file bytes (MiB = 2^20 bytes), not disk blocks; the image layer compresses further.",
        "Choices: (1) pin botocore in the task root rather than reuse the base image's boto3/botocore "
        "(/var/runtime): the pinned copy is what the tests and benchmarks ran, and the base image's "
        "moves with every image update; it costs the AWS SDK row above, pruned. (2) compile "
        "byte code at build time: Lambda's file system is read-only, so without .pyc every cold start "
        "compiles every imported module (the cold-start section's no-.pyc row) for the .pyc row's "
        "size. (3) prune botocore/data to the services used: botocore lists every service folder when it "
        "loads a model, so the pruned root starts faster (cold-start section), and the pruned rows show "
        "the size saved; a handler that calls more AWS services names them in the Dockerfile's "
        "BOTOCORE_SERVICES build argument (the construct's botocore_services prop).",
        f"task roots: bench/out/.task_roots/{roots.cache_key}/, "
        f"{'reused from the cache' if roots.cached else 'laid out in this run'} ({prepared_s:.1f} s).",
    ]
    return [Section(title="Task-root size (/var/task of the image)", rows=rows, notes=notes)]
