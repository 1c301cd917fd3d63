"""Hypothesis strategies for fuzzing direct invocations (Lambda's Invoke API: the event is the request
body plus the reserved keys `api` and `format`): JSON values of every type, huge and deeply nested
events, random keys, wrong reserved-key values, native and OpenAI bodies, and valid events paired with
the stand-in's exact reply.

Each case is the raw payload the runtime receives; `expected` is set when its reply is known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.reliability import fuzz_strategies as fs
from tests.reliability import openai_strategies as ost

FORMATS = ("text", "ndjson")


@dataclass(frozen=True)
class DirectCase:
    """One direct event for the runtime, and what its reply must be when that is known."""

    label: str
    payload: bytes
    native: fs.Expected | None = None  # a native event's exact reply
    openai: ost.Expected | None = None  # an OpenAI event's exact reply
    stream: bool = False  # an OpenAI event asking for a stream

    def describe(self) -> str:
        return f"{self.label}: {len(self.payload)}B {self.payload[:160]!r}"


def encode(document: Any) -> bytes:
    """As a client's JSON library would send it: lone surrogates as `\\udXXX` escapes, NaN as a token."""
    return json.dumps(document, ensure_ascii=True).encode()


def with_api(body: bytes, api: str = "openai") -> bytes:
    """A JSON object's text with `"api": …` added first; too deep for json.loads, so spliced as text."""
    rest = body.lstrip()[1:].lstrip()
    return b'{"api": "%s"' % api.encode() + (b"}" if rest.startswith(b"}") else b", " + rest)


# --- valid events with known replies ----------------------------------------------------------------


@st.composite
def native_events(draw: st.DrawFn) -> DirectCase:
    """A valid native event (prompt or messages; any format, given or not) and its exact reply."""
    prompt = draw(fs.prompts())
    fmt = draw(st.sampled_from([None, *FORMATS]))
    max_tokens = draw(st.none() | st.integers(1, fs.MAX_REPLY_TOKENS))
    document: dict[str, Any] = (
        {"prompt": prompt}
        if draw(st.booleans())
        else {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]}
    )
    if "messages" in document:
        document["messages"].append({"role": "user", "content": prompt})
    if max_tokens is not None:
        document["maxTokens"] = max_tokens
    if fmt is not None or draw(st.booleans()):
        document["format"] = fmt  # null: the default
    if draw(st.booleans()):
        document["api"] = draw(st.sampled_from(["native", None]))
    order = draw(st.permutations(list(document)))
    expected = fs.expected_reply(prompt, fmt=fmt or "text", max_tokens=max_tokens)
    return DirectCase(f"native {fmt or 'default'}", encode({key: document[key] for key in order}), expected)


@st.composite
def openai_events(draw: st.DrawFn) -> DirectCase:
    """A valid Chat Completions body as a direct event, and its exact reply."""
    case = draw(ost.valid_cases())
    document = json.loads(case.body)
    return DirectCase(
        "openai valid", with_api(case.body), openai=case.expected, stream=document.get("stream") is True
    )


# --- events to refuse (or to read, if they happen to be valid) ---------------------------------------


def _non_objects() -> st.SearchStrategy[DirectCase]:
    huge = st.sampled_from([100_000, 3_000_000]).map(lambda n: encode("x" * n))
    long_list = st.integers(10_000, 200_000).map(lambda n: encode(list(range(n))))
    values = fs.json_values.filter(lambda value: not isinstance(value, dict)).map(encode)
    scalars = st.sampled_from([b"null", b"true", b"0", b"-1e308", b"1e400", b"NaN", b'""', b"[]", b"[{}]"])
    return st.one_of(values, scalars, huge, long_list).map(lambda payload: DirectCase("non-object", payload))


@st.composite
def reserved_keys(draw: st.DrawFn) -> DirectCase:
    """A valid prompt with `api` and `format` drawn from valid, wrong and wild values."""
    document: dict[str, Any] = {"prompt": draw(fs.prompts())}
    choices = {
        "api": st.sampled_from(["native", "openai", "OpenAI", "NATIVE", "", " native", "chat", None]),
        "format": st.sampled_from(["text", "ndjson", "sse", "NDJSON", "json", "", None]),
    }
    for key, values in choices.items():
        if draw(st.booleans()):
            document[key] = draw(values | ost.wild_values)
    return DirectCase("reserved keys", encode(document))


@st.composite
def random_keys(draw: st.DrawFn) -> DirectCase:
    """An object of random keys (wild text, lone surrogates, known names upper-cased) and wild values,
    sometimes beside a valid prompt."""
    document: dict[str, Any] = {"prompt": draw(fs.prompts())} if draw(st.booleans()) else {}
    for key in draw(st.lists(ost.keys | st.sampled_from(["api", "format", "body", "rawPath"]), max_size=5)):
        document[key] = draw(ost.wild_values)
    return DirectCase("random keys", encode(document))


@st.composite
def openai_bodies(draw: st.DrawFn) -> DirectCase:
    """The OpenAI fuzzer's malformed bodies (wrong types, odd messages, extra keys, huge, deep) as
    direct events; a body that is no JSON object goes as it is."""
    case = draw(
        st.one_of(
            ost.wrong_type_bodies(),
            ost.message_bodies(),
            ost.extra_key_bodies(),
            ost.huge_bodies(),
            ost.deep_bodies(),
        )
    )
    payload = with_api(case.body) if case.body.lstrip().startswith(b"{") else case.body
    return DirectCase(f"openai {case.label}", payload)


native_bodies = st.one_of(
    fs.contract_violations().map(lambda body: DirectCase("native violation", body)),
    fs.deep_json().map(lambda body: DirectCase("deep", body)),
    fs.huge_json.map(lambda body: DirectCase("huge", body)),
    st.just(DirectCase("lone surrogate", b'{"prompt": "\\ud800 lone surrogate"}')),
)

valid_events = st.one_of(native_events(), openai_events())
events = st.one_of(
    valid_events,
    _non_objects(),
    reserved_keys(),
    random_keys(),
    openai_bodies(),
    native_bodies,
)
