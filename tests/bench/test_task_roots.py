"""The benchmarks' task roots: the image's layout and pruning, the honest seed-style root, awslambdaric's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import awslambdaric_bench, cold_contenders, cold_harness, image_build, task_roots
from bench.processes import end_process
from bench.runtime_api import BenchApi

PROMPT = "Layout check @stub:tokens=5"


def _dockerfile_text() -> str:
    return image_build.DOCKERFILE.read_text().replace("\\\n", "\n")


def test_kept_services_are_read_from_the_dockerfile() -> None:
    assert image_build.kept_services() == ("bedrock-runtime",)


def test_layout_copies_what_the_dockerfile_copies() -> None:
    copies = re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", _dockerfile_text(), flags=re.MULTILINE)
    into_task_root = {
        source.rstrip("/") for source, target in copies if target.startswith("${LAMBDA_TASK_ROOT}")
    }
    assert into_task_root - {"requirements.txt"} == set(task_roots.RUNTIME_FILES)
    # The prune script is a build step outside the task root; the benchmarks run that very file.
    assert ("prune_botocore.py", "/tmp/prune_botocore.py") in copies
    assert image_build.PRUNE_SCRIPT.name == "prune_botocore.py" and image_build.PRUNE_SCRIPT.is_file()


def test_dockerfile_prunes_with_the_script_and_the_build_argument_after_pip() -> None:
    run = re.search(r"^RUN pip install .*?(?=^\S)", _dockerfile_text(), flags=re.MULTILINE | re.DOTALL)
    assert run, "the Dockerfile has no pip install RUN"
    assert "--no-compile" not in run.group(0)  # pip's default byte compilation, as the seed root has it
    assert re.search(
        r'python /tmp/prune_botocore\.py "\$\{LAMBDA_TASK_ROOT\}" \$\{BOTOCORE_SERVICES\}', run.group(0)
    )


def _fake_botocore_data(data: Path) -> None:
    for service in ("bedrock-runtime", "bedrock", "s3"):
        (data / service / "2023-09-30").mkdir(parents=True)
    services = {name: {"endpoints": {}} for name in ("bedrock-runtime", "bedrock", "s3", "ec2")}
    (data / "endpoints.json").write_text(
        json.dumps({"partitions": [{"partition": "aws", "services": services}]})
    )


@pytest.mark.parametrize(
    ("keep", "folders", "entries"),
    [
        (("bedrock-runtime",), ["bedrock-runtime"], ["bedrock-runtime"]),
        (("bedrock-runtime", "s3"), ["bedrock-runtime", "s3"], ["bedrock-runtime", "s3"]),
        ((), ["bedrock", "bedrock-runtime", "s3"], ["bedrock", "bedrock-runtime", "ec2", "s3"]),  # "all"
    ],
)
def test_prune_helper_runs_the_dockerfiles_script(
    tmp_path: Path, keep: tuple[str, ...], folders: list[str], entries: list[str]
) -> None:
    data = tmp_path / "botocore" / "data"
    _fake_botocore_data(data)
    image_build.prune_botocore_data(tmp_path, keep)
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == folders
    partition = json.loads((data / "endpoints.json").read_text())["partitions"][0]
    assert sorted(partition["services"]) == entries


@pytest.fixture(scope="module")
def roots() -> task_roots.TaskRoots:
    return task_roots.prepare()  # pip installs on the first run, then cached in bench/out/.task_roots


@pytest.mark.slow
def test_layouts_hold_what_the_image_holds(roots: task_roots.TaskRoots) -> None:
    image = roots.root("image")

    def services(root: Path) -> list[str]:
        return sorted(p.name for p in (root / "botocore" / "data").iterdir() if p.is_dir())

    assert services(image) == ["bedrock-runtime"]
    assert len(services(roots.root("full"))) > 100 and "bedrock-runtime" in services(roots.root("full"))
    assert (image / "bootstrap").stat().st_mode & 0o111
    assert list((image / "streaming_runtime").glob("__pycache__/*.pyc"))
    assert list((image / "botocore").glob("__pycache__/*.pyc"))
    assert not list(roots.root("nopyc").rglob("*.pyc"))
    assert (roots.root("seed") / "requests" / "__init__.py").is_file()
    assert not (image / "requests").exists()
    assert not (image / "boto3").exists()  # the image installs botocore only
    assert (roots.root("seed") / "boto3" / "__init__.py").is_file()
    runtime_only = roots.root("runtime")
    assert sorted(p.name for p in runtime_only.iterdir() if p.name != "__pycache__") == [
        "bootstrap", "streaming_runtime", "trivial_handler.py"
    ]  # fmt: skip
    assert list((runtime_only / "streaming_runtime").glob("__pycache__/*.pyc"))


@pytest.mark.slow
def test_seed_style_root_is_byte_compiled_as_pip_installs_it(roots: task_roots.TaskRoots) -> None:
    """The seed's own image is built with a plain `pip install`, which byte-compiles: its boto3, botocore
    and requests must load from .pyc of this interpreter, or the baseline pays a compile it would not."""
    seed = roots.root("seed")
    use = cold_harness.bytecode_use(seed, "import boto3; boto3.client('bedrock-runtime'); import requests")
    major, minor = roots.interpreter_version.split(".")[:2]
    assert use.cache_tag == f"cpython-{major}{minor}"  # the interpreter that runs the roots
    for package in ("boto3", "botocore", "requests"):
        compiled = list((seed / package).glob(f"__pycache__/*.{use.cache_tag}.pyc"))
        assert compiled, f"{package} has no __pycache__/*.{use.cache_tag}.pyc in the seed-style root"
        assert any(f"/{package}/__pycache__/" in path for path in use.from_pyc), package
    assert use.compiled == (), f"compiled at start-up instead of loaded from .pyc: {use.compiled[:5]}"
    # The seed's own bootstrap and handler are copied as a Dockerfile COPY would: not compiled.
    assert not list(seed.glob("__pycache__/seed_handler.*.pyc"))
    # The old, dishonest baseline: the same files without any .pyc.
    old = roots.root("seed_nopyc")
    assert not list(old.rglob("*.pyc"))
    assert (old / "botocore" / "__init__.py").is_file() and (old / "requests" / "__init__.py").is_file()


@pytest.mark.slow
def test_awslambdaric_root_answers_an_invocation(roots: task_roots.TaskRoots) -> None:
    """AWS's client is laid out from its pinned wheel (with its C extension, byte-compiled) and really
    answers on the bench's Runtime API, so the start-up comparison is against a working runtime."""
    try:
        root = task_roots.prepare_awslambdaric(roots)
    except image_build.InstallError as exc:
        pytest.skip(f"the pinned awslambdaric wheel could not be installed from the registry: {exc}")
    assert "awslambdaric==4.2.2" in task_roots.installed_distributions(root)
    assert list(root.glob("runtime_client.cpython-*.so"))
    assert list((root / "awslambdaric").glob("__pycache__/bootstrap.cpython-*.pyc"))
    assert not (image_build.RUNTIME_DIR / "awslambdaric").exists()
    contender = awslambdaric_bench.RootContender(
        "awslambdaric", root, ("python3", "-m", "awslambdaric", awslambdaric_bench.TRIVIAL_HANDLER)
    )
    event = {"kind": "layout check"}
    with BenchApi() as api:
        process = contender.start(api)
        try:
            result = api.invoke(event, timeout=30)
        finally:
            end_process(process)
    awslambdaric_bench.check_answer(contender.name, result, event)


@pytest.mark.slow
def test_pruned_image_streams_the_bedrock_reply_like_the_seed_baseline(roots: task_roots.TaskRoots) -> None:
    origins = cold_harness.module_origins(roots, "image", ("botocore",))
    assert all(Path(path).is_relative_to(roots.root("image")) for path in origins.values()), origins
    with cold_contenders.StandIn() as stand_in:
        ours = cold_harness.cold_start(
            cold_contenders.ours("image", "ours"), roots, bedrock_url=stand_in.url, prompt=PROMPT
        )
        seed = cold_harness.cold_start(
            cold_contenders.BASELINE, roots, bedrock_url=stand_in.url, prompt=PROMPT
        )
    # The stand-in's reply is derived from the prompt: both runtimes must relay the same five words.
    assert len(ours.body.split()) == 5
    assert ours.body == seed.body
    assert 0 < ours.init_s < ours.seconds
