"""Snapshot of the deployed stack's template (asset hashes normalised), and asset-hash stability."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.bedrock_streaming_stack import BedrockStreamingStack, StackSettings
from tests.infra.conftest import ASSET_HASH, CDK_CONTEXT, RUNTIME_DIR, SynthesizedApp, normalise_asset_hashes


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_template_matches_snapshot(synthesized_app: SynthesizedApp, snapshot_json: SnapshotAssertion) -> None:
    template = Template.from_stack(synthesized_app.stack).to_json()
    assert normalise_asset_hashes(template) == snapshot_json


def test_normalisation_replaces_every_asset_hash(synthesized_app: SynthesizedApp) -> None:
    raw = synthesized_app.template_path.read_text()
    assert ASSET_HASH.search(raw), "the image tag should be a 64-hex asset hash before normalisation"
    assert not ASSET_HASH.search(
        str(normalise_asset_hashes(Template.from_stack(synthesized_app.stack).to_json()))
    )


@pytest.fixture(scope="module")
def runtime_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private copy of runtime/: other work writes caches into the real one concurrently."""
    if not (RUNTIME_DIR / "Dockerfile").is_file():
        pytest.skip("runtime/Dockerfile does not exist yet")
    copy = tmp_path_factory.mktemp("runtime-copy") / "runtime"
    shutil.copytree(RUNTIME_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    yield copy
    shutil.rmtree(copy, ignore_errors=True)


def _image_hash(runtime_directory: Path) -> str:
    """The image tag of a fresh app (a synthesized app's tree cannot grow) over runtime_directory."""
    app = cdk.App(context=CDK_CONTEXT)
    stack = BedrockStreamingStack(
        app,
        "Stack",
        settings=StackSettings.from_context(app.node),
        function_options={"runtime_directory": runtime_directory},
    )
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    image_uri: Any = next(iter(functions.values()))["Properties"]["Code"]["ImageUri"]
    match = ASSET_HASH.search(str(image_uri))
    assert match is not None
    return match.group(0)


def test_caches_in_runtime_do_not_change_the_image_hash(runtime_copy: Path) -> None:
    before = _image_hash(runtime_copy)
    caches = [
        runtime_copy / "__pycache__" / "x.cpython-311.pyc",
        runtime_copy / "streaming_runtime" / "__pycache__" / "wire.cpython-312.pyc",
        runtime_copy / ".pytest_cache" / "v" / "cache" / "lastfailed",
        runtime_copy / "stray.pyc",
    ]
    for cache in caches:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(b"\x00cache")
    try:
        assert _image_hash(runtime_copy) == before
        # Control: a real source change must change the hash, or this test could not fail.
        (runtime_copy / "added_module.py").write_text("VALUE = 1\n")
        assert _image_hash(runtime_copy) != before
    finally:
        for cache in caches:
            cache.unlink(missing_ok=True)
        (runtime_copy / "added_module.py").unlink(missing_ok=True)
