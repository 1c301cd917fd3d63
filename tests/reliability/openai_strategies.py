"""Hypothesis strategies for fuzzing `POST …/v1/chat/completions`: bodies with a wrong type in any field,
unknown roles, random content-part types and keys, random extra top-level keys, huge strings, deep JSON
nesting, broken envelopes (methods, media types, non-JSON), and valid-looking bodies paired with the
stand-in's exact reply.

Bodies are serialised with `ensure_ascii=True`, so a lone surrogate reaches the function as a `\\udXXX`
escape, as a client's JSON library would send it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from emulator.stub_replies import input_token_count, reply_tokens
from tests.reliability import fuzz_strategies as fs

# The emulator's default MODEL_IDS, and the aliases the fuzz module configures (MODEL_ALIASES).
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-lite-v1:0"
ALIASES = {"fast": NOVA, "claude": HAIKU}
MODEL_NAMES = {HAIKU: HAIKU, NOVA: NOVA, **ALIASES}
STUB_DEFAULT_TOKENS = 12  # the stand-in's reply length without a @stub:tokens directive
DEFAULT_MAX_TOKENS = 1024
CHAT_PATHS = ("/v1/chat/completions", "/v1/chat/completions/", "/prod/v1/chat/completions")

# Every top-level field the edge knows, by how it treats it.
MAPPED = (
    "model",
    "messages",
    "max_completion_tokens",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "stream_options",
    "user",
)
IGNORED = (
    "metadata",
    "parallel_tool_calls",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
)
AT_DEFAULT: dict[str, Any] = {
    "n": 1,
    "logprobs": False,
    "top_logprobs": 0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0,
    "logit_bias": {},
    "modalities": ["text"],
    "response_format": {"type": "text"},
    "tools": [],
    "functions": [],
    "tool_choice": "none",
    "function_call": "none",
}
UNSUPPORTED = (
    "audio",
    "moderation",
    "prediction",
    "reasoning_effort",
    "seed",
    "verbosity",
    "web_search_options",
)
KNOWN_FIELDS = (*MAPPED, *IGNORED, *AT_DEFAULT, *UNSUPPORTED)
JSON_MEDIA_TYPES = (None, "application/json", "application/json; charset=utf-8", "application/vnd.api+json")


@dataclass(frozen=True)
class Expected:
    """The exact 200 reply of a valid request."""

    text: str
    finish_reason: str
    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class OpenAICase:
    """One request to the chat endpoint; `expected` is set when the body is valid."""

    label: str
    body: bytes
    method: str = "POST"
    path: str = CHAT_PATHS[0]
    content_type: str | None = "application/json"
    expected: Expected | None = None

    @property
    def document(self) -> Any:
        """The body as the function parses it (None when it is not JSON)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    @property
    def wants_stream(self) -> bool:
        document = self.document
        return isinstance(document, dict) and document.get("stream") is True

    @property
    def include_usage(self) -> bool:
        document = self.document
        options = document.get("stream_options") if isinstance(document, dict) else None
        return isinstance(options, dict) and options.get("include_usage") is True

    def http(self) -> fs.HttpCase:
        headers = () if self.content_type is None else (("Content-Type", self.content_type),)
        return fs.HttpCase(self.method, self.path, headers, self.body)

    def describe(self) -> str:
        head = f"{self.label}: {self.method} {self.path} {self.content_type}"
        return f"{head} body={len(self.body)}B {self.body[:120]!r}"


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=True).encode()


# --- pieces ---------------------------------------------------------------------------------------

# Any text, lone surrogates and control characters included.
wild_text = st.text(st.characters(exclude_categories=()), max_size=24)
surrogate_text = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
keys = st.one_of(wild_text, surrogate_text, st.sampled_from(KNOWN_FIELDS).map(str.upper), st.just(""))
wild_scalars = st.one_of(
    fs.json_scalars,
    st.floats(),  # NaN and ±Infinity: json.dumps writes them as bare tokens, which Python's parser accepts
    st.integers(),
    wild_text,
    surrogate_text,
    st.sampled_from([True, False, 0, 1, -1, 0.0, 1.0, 2, 1.5, "", " ", "text", "none", "user"]),
)
wild_values = st.recursive(
    wild_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=10,
)
sentence = st.lists(fs.words.filter(lambda w: not w.startswith("@stub:")), min_size=1, max_size=6).map(
    " ".join
)


def deep(depth: int, *, arrays: bool = True) -> str:
    """JSON text nested `depth` levels (`[[[...]]]` or `{"a":{"a":...}}`)."""
    if arrays:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def with_raw_field(document: dict[str, Any], name: str, raw_json: str) -> bytes:
    """`document` with one more field whose value is the JSON text `raw_json` (too deep for json.dumps)."""
    head = encode(document)[:-1].decode()
    return f"{head}, {json.dumps(name)}: {raw_json}}}".encode()


@st.composite
def valid_base(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "model": draw(st.sampled_from(sorted(MODEL_NAMES))),
        "messages": [{"role": "user", "content": draw(sentence)}],
        "stream": draw(st.sampled_from([True, False, None])),
    }


@st.composite
def parts(draw: st.DrawFn) -> Any:
    """A content part: mostly text parts, else another type or extra keys."""
    kind = draw(st.sampled_from(["text", "text", "other-type", "extra-key", "any"]))
    if kind == "any":
        return draw(wild_values)
    part: dict[str, Any] = {"type": "text", "text": draw(st.one_of(sentence, wild_text, wild_values))}
    if kind == "other-type":
        part["type"] = draw(
            st.sampled_from(["image_url", "input_audio", "file", "refusal", "Text", "", None, 1]) | wild_text
        )
    elif kind == "extra-key":
        part[draw(keys.filter(lambda k: k not in ("type", "text")))] = draw(wild_values)
    return part


@st.composite
def messages(draw: st.DrawFn) -> Any:
    """A message: any role (the four valid ones most often), string or part-list content, odd keys."""
    role = draw(
        st.sampled_from(["user", "user", "assistant", "system", "developer", "tool", "function", "User", ""])
        | wild_values
    )
    content = draw(st.one_of(sentence, st.lists(parts(), max_size=3), wild_values))
    message: dict[str, Any] = {"role": role, "content": content}
    for key in draw(
        st.lists(
            st.sampled_from(["name", "refusal", "tool_calls", "function_call", "audio", "tool_call_id"])
            | keys,
            max_size=2,
        )
    ):
        message[key] = draw(st.one_of(st.none(), wild_values))
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(wild_values)  # not a message object at all
    return message


# --- malformed bodies -----------------------------------------------------------------------------


@st.composite
def wrong_type_bodies(draw: st.DrawFn) -> OpenAICase:
    """A valid body with one known field (or several) set to an arbitrary JSON value."""
    document = draw(valid_base())
    for name in draw(st.lists(st.sampled_from(KNOWN_FIELDS), min_size=1, max_size=3, unique=True)):
        document[name] = draw(wild_values)
    return OpenAICase("wrong-type", encode(document))


@st.composite
def message_bodies(draw: st.DrawFn) -> OpenAICase:
    """Random roles, part types, part and message keys."""
    document = draw(valid_base())
    document["messages"] = draw(st.lists(messages(), min_size=0, max_size=5))
    return OpenAICase("messages", encode(document))


@st.composite
def extra_key_bodies(draw: st.DrawFn) -> OpenAICase:
    """Random extra top-level keys (lone surrogates, empty, upper-cased known names) with any value."""
    document = draw(valid_base())
    for key in draw(st.lists(keys, min_size=1, max_size=4)):
        document[key] = draw(wild_values)
    return OpenAICase("extra-keys", encode(document))


@st.composite
def huge_bodies(draw: st.DrawFn) -> OpenAICase:
    """A huge string in one place, under and over the function's 256 KiB body limit."""
    size = draw(st.sampled_from([70_000, 200_000, 262_000, 300_000, 1_000_000]))
    text = draw(st.sampled_from(["a", "日", " ", "\\", '"', "\ud800"])) * size
    document = draw(valid_base())
    where = draw(st.sampled_from(["content", "part", "model", "stop", "user", "key", "ignored", "system"]))
    if where == "content":
        document["messages"][0]["content"] = text
    elif where == "part":
        document["messages"][0]["content"] = [{"type": "text", "text": text}]
    elif where == "system":
        document["messages"].insert(0, {"role": "system", "content": text})
    elif where == "key":
        document[text] = 1
    elif where == "ignored":
        document["metadata"] = {"blob": text}
    else:
        document[where] = text
    return OpenAICase(f"huge-{where}", encode(document))


@st.composite
def deep_bodies(draw: st.DrawFn) -> OpenAICase:
    """Deeply nested JSON, as the whole body or inside one field (ignored, mapped, or unknown)."""
    depth = draw(st.sampled_from([10, 500, 900, 990, 1_000, 2_000, 20_000, 100_000]))
    arrays = draw(st.booleans())
    where = draw(st.sampled_from(["body", "metadata", "messages", "content", "stop", "unknown", "tools"]))
    if where == "body":
        return OpenAICase(f"deep-body-{depth}", deep(depth, arrays=arrays).encode())
    document = draw(valid_base())
    if where == "content":
        body = encode(document).replace(
            b'"content": ', b'"content": ' + deep(depth, arrays=arrays).encode() + b', "x": ', 1
        )
        return OpenAICase(f"deep-content-{depth}", body)
    name = {"unknown": "nested"}.get(where, where)
    if where == "messages":
        del document["messages"]
    return OpenAICase(f"deep-{where}-{depth}", with_raw_field(document, name, deep(depth, arrays=arrays)))


@st.composite
def envelope_cases(draw: st.DrawFn) -> OpenAICase:
    """Wrong methods and media types, empty, non-JSON and non-object bodies."""
    good = encode(draw(valid_base()))
    kind = draw(st.sampled_from(["method", "media-type", "empty", "not-json", "not-object", "bytes"]))
    if kind == "method":
        return OpenAICase(
            kind, good, method=draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]))
        )
    if kind == "media-type":
        media = draw(
            st.sampled_from(
                [
                    "text/plain",
                    "text/html",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "application/octet-stream",
                    "",
                    "json",
                ]
            )
        )
        return OpenAICase(kind, good, content_type=media)
    if kind == "empty":
        return OpenAICase(kind, draw(st.sampled_from([b"", b" ", b"\n\t "])))
    if kind == "not-object":
        return OpenAICase(kind, encode(draw(st.one_of(wild_scalars, st.lists(wild_values, max_size=3)))))
    if kind == "not-json":
        return OpenAICase(
            kind, draw(st.sampled_from([good[:-1], good + b"x", b"{'model': 1}", b"{,}", b"NaN]"]))
        )
    return OpenAICase(kind, draw(st.binary(min_size=1, max_size=64)))


malformed_cases = st.one_of(
    wrong_type_bodies(), message_bodies(), extra_key_bodies(), huge_bodies(), deep_bodies(), envelope_cases()
)


# --- valid bodies ---------------------------------------------------------------------------------


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    """Messages that are valid (system/developer anywhere, turns of one role in a row, text parts), and
    the prompt the stand-in answers: the last run of user turns, whitespace-normalised."""
    roles = draw(st.lists(st.sampled_from(["user", "assistant", "system", "developer"]), max_size=6))
    roles = ["user", *roles, "user"] if draw(st.booleans()) else [*roles, "user"]
    if next(role for role in roles if role in ("user", "assistant")) != "user":
        roles.insert(0, "user")
    items: list[dict[str, Any]] = []
    texts: list[tuple[str, str]] = []
    for role in roles:
        pieces = draw(st.lists(sentence, min_size=1, max_size=3))
        content: Any = (
            pieces[0]
            if len(pieces) == 1 and draw(st.booleans())
            else [{"type": "text", "text": piece} for piece in pieces]
        )
        message: dict[str, Any] = {"role": role, "content": content}
        if draw(st.booleans()):
            message.update(
                draw(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "name": sentence,
                            "refusal": st.none(),
                            "tool_calls": st.none(),
                            "function_call": st.none(),
                            "audio": st.none(),
                        },
                    )
                )
            )
        items.append(message)
        texts.append((role, " ".join(pieces)))
    last_user_run: list[str] = []
    for role, text in reversed([t for t in texts if t[0] in ("user", "assistant")]):
        if role != "user":
            break
        last_user_run.insert(0, text)
    return items, " ".join(" ".join(last_user_run).split())


@st.composite
def valid_cases(draw: st.DrawFn) -> OpenAICase:
    """A valid request with its exact expected reply (the stand-in ignores stop sequences and sampling)."""
    name = draw(st.sampled_from(sorted(MODEL_NAMES)))
    items, prompt = draw(conversations())
    document: dict[str, Any] = {"model": name, "messages": items}
    limits = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "max_completion_tokens": st.none() | st.integers(1, 20),
                "max_tokens": st.none() | st.integers(1, 20),
            },
        )
    )
    document.update(limits)
    optional = {
        "temperature": st.none() | st.floats(0, 1),
        "top_p": st.none() | st.integers(0, 1) | st.floats(0, 1),
        "stop": st.none()
        | sentence.map(lambda s: s[:256])
        | st.lists(sentence.map(lambda s: s[:256]), max_size=8),
        "user": st.none() | wild_text.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
        **{field: st.none() | fs.json_values for field in IGNORED},
        **{field: st.sampled_from([None, value]) for field, value in AT_DEFAULT.items()},
        **{field: st.none() for field in UNSUPPORTED},
    }
    document.update(draw(st.fixed_dictionaries({}, optional=optional)))
    # Streamed in half the cases (sometimes with usage); `stream` absent, null or false otherwise.
    stream = draw(st.sampled_from([True, True, True, False, None, "absent"]))
    if stream != "absent":
        document["stream"] = stream
    usage = draw(st.sampled_from([True, False, None, "absent", "empty"]))
    if usage == "empty":
        document["stream_options"] = {}
    elif usage != "absent":
        document["stream_options"] = {"include_usage": usage}
        if draw(st.booleans()):
            document["stream_options"]["include_obfuscation"] = draw(st.booleans())
    order = draw(st.permutations(list(document)))
    document = {key: document[key] for key in order}
    limit = limits.get("max_completion_tokens")
    if limit is None:
        limit = limits.get("max_tokens")
    count = min(STUB_DEFAULT_TOKENS, DEFAULT_MAX_TOKENS if limit is None else limit)
    expected = Expected(
        text="".join(reply_tokens(prompt, count)),
        finish_reason="length" if count < STUB_DEFAULT_TOKENS else "stop",
        model=MODEL_NAMES[name],
        prompt_tokens=input_token_count(prompt),
        completion_tokens=count,
    )
    return OpenAICase(
        "valid",
        encode(document),
        path=draw(st.sampled_from(CHAT_PATHS)),
        content_type=draw(st.sampled_from(JSON_MEDIA_TYPES)),
        expected=expected,
    )
