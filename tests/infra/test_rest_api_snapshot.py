"""Snapshot of the stack with `-c restApi=api-keys` (asset hashes normalised); the default stays its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import ASSET_HASH, SynthesizedApp, normalise_asset_hashes
from tests.infra.rest_api_apps import API_KEYS, synthesize


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    yield synthesize(API_KEYS, tmp_path_factory.mktemp("cdk.out"))


def test_api_keys_template_matches_snapshot(synthesized: SynthesizedApp, snapshot: SnapshotAssertion) -> None:
    template = Template.from_stack(synthesized.stack).to_json()
    assert normalise_asset_hashes(template) == snapshot.use_extension(JSONSnapshotExtension)


def test_both_assets_are_normalised(synthesized: SynthesizedApp) -> None:
    """The image tag and the authorizer zip are both 64-hex digests, and neither survives normalisation."""
    raw = synthesized.template_path.read_text()
    assert len(set(ASSET_HASH.findall(raw))) == 2
    assert not ASSET_HASH.search(
        str(normalise_asset_hashes(Template.from_stack(synthesized.stack).to_json()))
    )
