"""The stand-in's own table of which Converse models take prompt cache points and how each one reasons.

Written from AWS's documentation (Bedrock user guide: "Prompt caching for faster model inference",
"Extended thinking", "Adaptive thinking"; the Nova 2 user guide's "Reasoning capabilities"; the
gpt-oss and DeepSeek model parameter pages; PROTOCOL.md §12.B4, §12.B6), never imported from the
handler, so that a wrong handler table disagrees with the oracle instead of agreeing with it.
Model ids are read as `stub_models` reads them: bare ids, cross-Region profiles (`us.`, `eu.`,
`apac.`, `global.`, ...) and ARNs naming either.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.stub_models import provider_and_model

# How a model turns reasoning on (`additionalModelRequestFields` unless stated).
NO_REASONING = ""
CLAUDE_ENABLED = "claude-enabled"  # thinking {type: enabled, budget_tokens}
CLAUDE_EITHER = "claude-either"  # enabled, or adaptive (recommended) with outputConfig.effort
CLAUDE_ADAPTIVE = "claude-adaptive"  # adaptive only: "enabled" is a 400
NOVA_2 = "nova-2"  # reasoningConfig {type: enabled, maxReasoningEffort}
GPT_OSS = "gpt-oss"  # reasoning_effort low|medium|high
DEEPSEEK_R1 = "deepseek-r1"  # always reasons, takes no field

CLAUDE_STYLES = frozenset({CLAUDE_ENABLED, CLAUDE_EITHER, CLAUDE_ADAPTIVE})

# Per provider, how model names start; the longest matching start wins (claude-opus-4-7 over claude-opus-4).
_CACHING: dict[str, tuple[str, ...]] = {
    # Claude 3.5 Haiku, 3.7 Sonnet and the Claude 4.x family (Sonnet 4/4.5/4.6, Opus 4/4.1/4.5/4.6/4.7,
    # Haiku 4.5)
    "anthropic": (
        "claude-3-5-haiku",
        "claude-3-7-sonnet",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-haiku-4-5",
    ),
    "amazon": ("nova-micro", "nova-lite", "nova-pro", "nova-premier", "nova-2-lite"),
}

_REASONING: dict[str, dict[str, str]] = {
    "anthropic": {
        "claude-3-7-sonnet": CLAUDE_ENABLED,
        "claude-sonnet-4": CLAUDE_ENABLED,  # Sonnet 4 and 4.5
        "claude-sonnet-4-6": CLAUDE_EITHER,
        "claude-opus-4": CLAUDE_ENABLED,  # Opus 4, 4.1 and 4.5
        "claude-opus-4-6": CLAUDE_EITHER,
        "claude-opus-4-7": CLAUDE_ADAPTIVE,
        "claude-haiku-4-5": CLAUDE_ENABLED,
    },
    "amazon": {"nova-2-lite": NOVA_2},
    "openai": {"gpt-oss-20b": GPT_OSS, "gpt-oss-120b": GPT_OSS},
    "deepseek": {"r1": DEEPSEEK_R1},
}


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """What a Converse model accepts beyond plain text: cache points, and its reasoning style."""

    caching: bool
    reasoning: str  # one of the style constants above; NO_REASONING when the model cannot reason

    @property
    def claude(self) -> bool:
        """Whether the model reasons the Claude way (thinking blocks with signatures)."""
        return self.reasoning in CLAUDE_STYLES


def capabilities(model_id: str) -> ModelCapabilities:
    """The stand-in's view of a model id; unknown ids neither cache nor reason."""
    provider, model = provider_and_model(model_id)
    caching = any(model.startswith(line) for line in _CACHING.get(provider, ()))
    lines = _REASONING.get(provider, {})
    matches = [line for line in lines if model.startswith(line)]
    reasoning = lines[max(matches, key=len)] if matches else NO_REASONING
    return ModelCapabilities(caching=caching, reasoning=reasoning)
