"""The stand-in's model table and the handler's agree on AWS's documented model ids.

The stand-in (emulator/stub_models.py) keeps its own table so that it stays an independent oracle; this
test is where the two meet. Every id below is copied from AWS's documentation (Bedrock user guide:
"Supported foundation models" / model ids, "Supported Regions and models for inference profiles", the
Nova 2 guide) and paired with the InvokeModel payload family PROTOCOL.md §5.3 gives it.
"""

from __future__ import annotations

import pytest
from bedrock_handler import invoke_formats

from emulator import stub_models

# Foundation model ids of the text-generation models, as the model-ids table lists them.
DOCUMENTED_MODELS = {
    "anthropic.claude-instant-v1": "anthropic",
    "anthropic.claude-v2:1": "anthropic",
    "anthropic.claude-3-haiku-20240307-v1:0": "anthropic",
    "anthropic.claude-3-sonnet-20240229-v1:0": "anthropic",
    "anthropic.claude-3-opus-20240229-v1:0": "anthropic",
    "anthropic.claude-3-5-haiku-20241022-v1:0": "anthropic",
    "anthropic.claude-3-5-sonnet-20240620-v1:0": "anthropic",
    "anthropic.claude-3-5-sonnet-20241022-v2:0": "anthropic",
    "anthropic.claude-3-7-sonnet-20250219-v1:0": "anthropic",
    "anthropic.claude-sonnet-4-20250514-v1:0": "anthropic",
    "anthropic.claude-opus-4-20250514-v1:0": "anthropic",
    "anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic",
    "anthropic.claude-haiku-4-5-20251001-v1:0": "anthropic",
    "meta.llama3-8b-instruct-v1:0": "meta",
    "meta.llama3-70b-instruct-v1:0": "meta",
    "meta.llama3-1-8b-instruct-v1:0": "meta",
    "meta.llama3-1-70b-instruct-v1:0": "meta",
    "meta.llama3-1-405b-instruct-v1:0": "meta",
    "meta.llama3-2-1b-instruct-v1:0": "meta",
    "meta.llama3-2-3b-instruct-v1:0": "meta",
    "meta.llama3-2-11b-instruct-v1:0": "meta",
    "meta.llama3-2-90b-instruct-v1:0": "meta",
    "meta.llama3-3-70b-instruct-v1:0": "meta",
    "cohere.command-text-v14": "cohere",
    "cohere.command-light-text-v14": "cohere",
    "cohere.command-r-v1:0": "cohere-r",
    "cohere.command-r-plus-v1:0": "cohere-r",
    "amazon.titan-text-express-v1": "titan",
    "amazon.titan-text-lite-v1": "titan",
    "amazon.titan-text-premier-v1:0": "titan",
    "amazon.nova-micro-v1:0": "nova",
    "amazon.nova-lite-v1:0": "nova",
    "amazon.nova-pro-v1:0": "nova",
    "amazon.nova-premier-v1:0": "nova",
    "amazon.nova-2-lite-v1:0": "nova",
    "mistral.mistral-7b-instruct-v0:2": "mistral",
    "mistral.mixtral-8x7b-instruct-v0:1": "mistral",
    "mistral.mistral-large-2402-v1:0": "mistral",
    "mistral.mistral-small-2402-v1:0": "mistral",
}

# Cross-Region inference profile ids: a geography in front of the model id, same family.
DOCUMENTED_PROFILES = {
    "us.anthropic.claude-3-5-haiku-20241022-v1:0": "anthropic",
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": "anthropic",
    "eu.anthropic.claude-3-7-sonnet-20250219-v1:0": "anthropic",
    "apac.anthropic.claude-3-5-sonnet-20241022-v2:0": "anthropic",
    "global.anthropic.claude-sonnet-4-20250514-v1:0": "anthropic",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic",
    "jp.anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic",
    "au.anthropic.claude-haiku-4-5-20251001-v1:0": "anthropic",
    "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0": "anthropic",
    "us.meta.llama3-1-8b-instruct-v1:0": "meta",
    "us.meta.llama3-2-11b-instruct-v1:0": "meta",
    "eu.meta.llama3-2-1b-instruct-v1:0": "meta",
    "us.amazon.nova-lite-v1:0": "nova",
    "eu.amazon.nova-micro-v1:0": "nova",
    "apac.amazon.nova-pro-v1:0": "nova",
    "us.amazon.nova-premier-v1:0": "nova",
    "us.amazon.nova-2-lite-v1:0": "nova",
    "global.amazon.nova-2-lite-v1:0": "nova",
}

# The ARN forms of PROTOCOL.md §7.2 that carry a model id.
DOCUMENTED_ARNS = {
    "arn:aws:bedrock:us-east-1::foundation-model/mistral.mistral-large-2402-v1:0": "mistral",
    "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0": "nova",
    "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/"
    "us-gov.anthropic.claude-3-haiku-20240307-v1:0": "anthropic",
}

# Documented ids with no text payload family in either table: other providers, embeddings, opaque ARNs,
# and the image, video, speech and chat-format lines of families that do have one.
DOCUMENTED_WITHOUT_FAMILY = [
    "ai21.jamba-1-5-mini-v1:0",
    "deepseek.r1-v1:0",
    "us.deepseek.r1-v1:0",
    "amazon.titan-embed-text-v2:0",
    "amazon.titan-image-generator-v1",
    "cohere.embed-english-v3",
    "cohere.embed-multilingual-v3",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
    "amazon.nova-canvas-v1:0",
    "amazon.nova-reel-v1:0",
    "amazon.nova-sonic-v1:0",
    "mistral.pixtral-large-2502-v1:0",
    "us.mistral.pixtral-large-2502-v1:0",
]

WITH_FAMILY = {**DOCUMENTED_MODELS, **DOCUMENTED_PROFILES, **DOCUMENTED_ARNS}


def handler_family(model_id: str) -> str | None:
    try:
        return invoke_formats.model_family(model_id)
    except invoke_formats.UnknownModelFamilyError:
        return None


def stand_in_family(model_id: str) -> str | None:
    try:
        return stub_models.model_family(model_id)
    except stub_models.UnknownFamilyError:
        return None


@pytest.mark.parametrize(("model_id", "family"), sorted(WITH_FAMILY.items()))
def test_both_tables_give_the_documented_family(model_id: str, family: str) -> None:
    assert (stand_in_family(model_id), handler_family(model_id)) == (family, family)


@pytest.mark.parametrize("model_id", DOCUMENTED_WITHOUT_FAMILY)
def test_both_tables_refuse_ids_without_a_text_family(model_id: str) -> None:
    assert (stand_in_family(model_id), handler_family(model_id)) == (None, None)


def test_every_family_the_stand_in_streams_is_documented_here() -> None:
    """A model line added to the stand-in without a documented id here would go unchecked."""
    families = {family for lines in stub_models.MODEL_LINES.values() for family in lines.values()}
    assert families == set(WITH_FAMILY.values())


def test_every_geography_is_covered() -> None:
    geographies = {model_id.split(".", 1)[0] for model_id in DOCUMENTED_PROFILES}
    assert geographies | {"ca"} == stub_models.GEOGRAPHIES
