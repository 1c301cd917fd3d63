"""What the Bedrock stand-in answers: `@stub:` directives, the deterministic reply, and its seed prompt."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DIRECTIVE_PREFIX = "@stub:"
DEFAULT_TOKENS = 12
MAX_TOKENS_DIRECTIVE = 100_000
MAX_DELAY_MS = 600_000
MAX_CACHE_TOKENS = 10_000_000

# A small fixed vocabulary; the reply picks words from it by hashing the prompt, so tests can predict it.
_WORDS = [
    "amber",
    "basil",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "island",
    "juniper",
    "kelp",
    "lantern",
    "meadow",
    "nectar",
    "orchard",
    "pebble",
    "quartz",
    "river",
    "saffron",
    "timber",
    "umber",
    "valley",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "anchor",
    "breeze",
    "canyon",
    "dune",
    "estuary",
    "falcon",
    "glacier",
    "heron",
    "inlet",
    "jasmine",
    "kestrel",
    "lagoon",
    "marsh",
    "nimbus",
    "opal",
    "prairie",
    "quill",
    "reef",
    "summit",
    "tundra",
    "upland",
    "vista",
    "wharf",
    "yonder",
    "zenith",
]


class DirectiveError(ValueError):
    """A `@stub:` directive that is unknown or has a bad value; the stand-in answers 400 naming it."""


@dataclass(frozen=True, slots=True)
class Directives:
    """The behaviour requested by the `@stub:` tokens of the last user message."""

    tokens: int = DEFAULT_TOKENS
    delay_ms: int = 0
    first_token_ms: int = 0
    hang_ms: int = 0
    error_after: int | None = None
    drop_after: int | None = None
    throttle: bool = False
    access_denied: bool = False
    not_found: bool = False
    unavailable: bool = False
    model_timeout: bool = False
    # ConverseStream only (InvokeModel ignores them); docs/bedrock-stand-in.md describes each.
    tool: str | None = None
    reasoning: int | None = None
    reasoning_redacted: bool = False
    guardrail_after: int | None = None
    cache_read: int = 0
    cache_write: int = 0
    tokens_given: bool = False  # whether `@stub:tokens` was written (a tool call has no text otherwise)


_FLAGS = {"throttle", "access_denied", "not_found", "unavailable", "model_timeout", "reasoning_redacted"}
_STRINGS = {"tool"}
_NUMBERS = {
    "tokens",
    "delay_ms",
    "first_token_ms",
    "hang_ms",
    "error_after",
    "drop_after",
    "reasoning",
    "guardrail_after",
    "cache_read",
    "cache_write",
}
# Counts of deltas share the tokens limit; cache sizes get a larger one; the rest are times (and the
# error-after/drop-after positions, which have always shared the delay limit).
_LIMITS = {
    "tokens": MAX_TOKENS_DIRECTIVE,
    "reasoning": MAX_TOKENS_DIRECTIVE,
    "guardrail_after": MAX_TOKENS_DIRECTIVE,
    "cache_read": MAX_CACHE_TOKENS,
    "cache_write": MAX_CACHE_TOKENS,
}
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class PreStreamError:
    """An HTTP error the stand-in sends instead of a stream: status, botocore error code, message."""

    status: int
    code: str
    message: str


# Checked in this order, so a prompt with several error directives gets the first.
_PRE_STREAM_ERRORS = (
    ("throttle", PreStreamError(429, "ThrottlingException", "Too many requests, please wait (stub).")),
    (
        "access_denied",
        PreStreamError(403, "AccessDeniedException", "You don't have access to the model (stub)."),
    ),
    ("not_found", PreStreamError(404, "ResourceNotFoundException", "The model was not found (stub).")),
    ("unavailable", PreStreamError(503, "ServiceUnavailableException", "Service unavailable (stub).")),
    ("model_timeout", PreStreamError(408, "ModelTimeoutException", "The model timed out (stub).")),
)


def pre_stream_error(directives: Directives) -> PreStreamError | None:
    """The error a directive asks for before any event, if any."""
    for name, error in _PRE_STREAM_ERRORS:
        if getattr(directives, name):
            return error
    return None


def parse_directives(text: str) -> tuple[Directives, str]:
    """Split `text` into its directives and the prompt without them (whitespace normalised)."""
    values: dict[str, object] = {}
    words = []
    for word in text.split():
        if not word.startswith(DIRECTIVE_PREFIX):
            words.append(word)
            continue
        name, sep, raw = word[len(DIRECTIVE_PREFIX) :].partition("=")
        key = name.replace("-", "_")
        if key in _FLAGS and not sep:
            values[key] = True
        elif key in _NUMBERS and sep:
            values[key] = _directive_int(word, key, raw)
            values["tokens_given"] = values.get("tokens_given", False) or key == "tokens"
        elif key in _STRINGS and sep and _TOOL_NAME.fullmatch(raw):
            values[key] = raw
        else:
            raise DirectiveError(f"unknown or malformed directive {word!r}")
    return Directives(**values), " ".join(words)  # type: ignore[arg-type]


def _directive_int(word: str, key: str, raw: str) -> int:
    if not raw.isdigit():
        raise DirectiveError(f"directive {word!r} needs a non-negative integer")
    value = int(raw)
    limit = _LIMITS.get(key, MAX_DELAY_MS)
    if value > limit:
        raise DirectiveError(f"directive {word!r} is above its limit {limit}")
    return value


def reply_tokens(prompt: str, count: int) -> list[str]:
    """The stand-in's reply to `prompt` as `count` text deltas; joined they form the reply text.

    `prompt` is the directive-free, whitespace-normalised text of the last user turn.
    """
    seed = hashlib.sha256(prompt.encode("utf-8")).digest()
    tokens = []
    for index in range(count):
        digest = hashlib.sha256(seed + index.to_bytes(4, "big")).digest()
        word = _WORDS[int.from_bytes(digest[:4], "big") % len(_WORDS)]
        tokens.append(word if index == 0 else " " + word)
    return tokens


def input_token_count(prompt: str) -> int:
    """A deterministic stand-in for the input token count: one per word, at least one."""
    return max(1, len(prompt.split()))


# --- where the prompt is in a request --------------------------------------------------------------


def converse_user_text(messages: Sequence[object]) -> str:
    """The text of the last user message of a Converse-shaped `messages` list ('' if there is none)."""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            block["text"]
            for block in content
            if isinstance(block, Mapping) and isinstance(block.get("text"), str)
        )
    return ""


# The last user turn in the text-completion templates the handler builds (bedrock_handler.invoke_formats).
_TEMPLATE_USER_TURN = {
    "meta": re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S),
    "mistral": re.compile(r"\[INST\](.*?)\[/INST\]", re.S),
    "titan": re.compile(r"User: (.*?)\nBot:", re.S),
    "cohere": re.compile(r"User: (.*?)\nChatbot:", re.S),
}


def template_user_text(family: str, prompt: str) -> str:
    """The last user turn of a templated prompt string, or the whole prompt when it has no template."""
    pattern = _TEMPLATE_USER_TURN.get(family)
    turns = pattern.findall(prompt) if pattern else []
    return turns[-1] if turns else prompt
