"""The stand-in's own table of which InvokeModel payload family a Bedrock model id speaks.

Written from AWS's documented model ids and inference-profile ids (Bedrock user guide: "Supported
foundation models", "Supported Regions and models for inference profiles"; PROTOCOL.md §5.3, §7.2),
never imported from the handler: the stand-in is the oracle, so a wrong handler table must disagree
with it (tests/emulator/test_model_families.py compares the two on documented ids).
"""

from __future__ import annotations

# A foundation model id reads `<provider>.<model>`; a cross-Region (system-defined) inference profile
# id puts a geography in front, `<geography>.<provider>.<model>`. us, eu, apac and global are in the
# user guide, us-gov, jp and au in the CDK's CrossRegionInferenceProfileRegion; ca is seen in use.
GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})

# ARN resource types whose resource id is one of the ids above. The rest (application inference
# profiles, provisioned and custom models) name the model by an opaque id the stand-in cannot read.
_MODEL_RESOURCE_TYPES = frozenset({"foundation-model", "inference-profile"})

# Per provider, the text-generation model lines on InvokeModel (how the model name starts) and the
# payload family each speaks. The longest matching line wins: `command-r` over `command`. Lines not
# listed (embeddings, images, video, speech, chat-format Mistral models) have no text payload here.
MODEL_LINES: dict[str, dict[str, str]] = {
    # claude-3-haiku-20240307-v1:0, claude-3-5-sonnet-20241022-v2:0, claude-sonnet-4-20250514-v1:0
    "anthropic": {"claude": "anthropic"},
    # llama3-8b-instruct-v1:0, llama3-1-70b-instruct-v1:0, llama3-2-1b-instruct-v1:0, llama3-3-70b-...
    "meta": {"llama": "meta"},
    # command-text-v14 and command-light-text-v14 take a prompt; command-r(-plus)-v1:0 a chat message
    "cohere": {"command": "cohere", "command-r": "cohere-r"},
    "amazon": {
        "titan-text": "titan",  # titan-text-express-v1, titan-text-lite-v1, titan-text-premier-v1:0
        "nova-micro": "nova",
        "nova-lite": "nova",
        "nova-pro": "nova",
        "nova-premier": "nova",
        "nova-2-lite": "nova",
    },
    # the `[INST]` text-completion models: mistral-7b-instruct-v0:2, mixtral-8x7b-instruct-v0:1,
    # mistral-large-2402-v1:0, mistral-small-2402-v1:0
    "mistral": {"mistral-": "mistral", "mixtral-": "mistral"},
}


class UnknownFamilyError(ValueError):
    """A model id the stand-in has no InvokeModel payload format for (Bedrock answers 400)."""


def model_family(model_id: str) -> str:
    """The payload family of a model id, inference-profile id, or ARN naming either."""
    provider, model = provider_and_model(model_id)
    lines = MODEL_LINES.get(provider, {})
    matches = [line for line in lines if model.startswith(line)]
    if not matches:
        raise UnknownFamilyError(f"no InvokeModel format for model {model_id!r}")
    return lines[max(matches, key=len)]


def provider_and_model(model_id: str) -> tuple[str, str]:
    """`(provider, model name)` of a model id, inference-profile id, or ARN naming either ('' when opaque)."""
    return _provider_and_model(_resource_id(model_id))


def _resource_id(model_id: str) -> str:
    """`arn:<partition>:bedrock:<region>:<account>:<type>/<id>` -> `<id>`; a bare id as it is."""
    if not model_id.startswith("arn:"):
        return model_id
    fields = model_id.split(":", 5)
    resource_type, _, resource_id = fields[-1].partition("/")
    return resource_id if len(fields) == 6 and resource_type in _MODEL_RESOURCE_TYPES else ""


def _provider_and_model(resource_id: str) -> tuple[str, str]:
    first, _, rest = resource_id.partition(".")
    if first in GEOGRAPHIES and "." in rest:
        first, _, rest = rest.partition(".")
    return first, rest
