"""Hypothesis strategies for fuzzing the handler's ConverseStream surface: OpenAI tool definitions, tool
choices and tool-call rounds (arguments, ids, pairing), `image_url` data URLs and `file` parts (wrong
types, bad base64, oversize, too many), `reasoning_details` and efforts; native image and document blocks
and the `reasoning` field. Each case carries the fuzzed content that must never reach a log line, and a
valid case the stand-in's exact echo of its attachments.

Half the cases are built from valid pieces only; in the others a piece is broken one time in 60 or 20 (so
that most such requests have one fault at most) or one time in 4. Markers
(`qzx…`) are written into every image's bytes, document's text, tool description and argument, tool
result and reasoning text, so that a log line quoting any of them is found by a substring search.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"  # thinking with a budget; caches
OPUS_47 = "us.anthropic.claude-opus-4-7"  # adaptive thinking; caches
NOVA_LITE = "amazon.nova-lite-v1:0"  # cannot reason; caches
NOVA_2 = "amazon.nova-2-lite-v1:0"
GPT_OSS = "openai.gpt-oss-20b-1:0"
R1 = "us.deepseek.r1-v1:0"
MODEL_IDS = (HAIKU_45, NOVA_LITE, OPUS_47, NOVA_2, GPT_OSS, R1)
REASONING_MODELS = (HAIKU_45, OPUS_47, NOVA_2, GPT_OSS, R1)
CLAUDE_REASONING = (HAIKU_45, OPUS_47)
EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "max")
OPENAI_PATH = "/v1/chat/completions"
IMAGE_LIMIT = 3_750_000
DOCUMENT_LIMIT = 4_500_000
MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpeg": b"\xff\xd8\xff\xe0",
    "gif": b"GIF89a",
    "webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
}
DOCUMENT_HEADS = {
    "pdf": b"%PDF-1.7\n",
    "docx": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04",
    "doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "csv": b"",
    "html": b"",
    "txt": b"",
    "md": b"",
}
DOCUMENT_MEDIA = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "txt": "text/plain",
    "md": "text/markdown",
}
TOOL_NAMES = ("weather", "clock", "search_docs", "get-time")
WORDS = ("amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "harbor", "island", "kelp")
T = TypeVar("T")


@dataclass
class Draft:
    """What a case accumulates while it is drawn: whether pieces may be broken, the fuzzed content that
    must stay out of the logs, and whether the request is still valid (with the attachments the
    stand-in will echo)."""

    breaks: int  # a piece is broken one time in `breaks` (0: never)
    secrets: list[str] = field(default_factory=list)
    valid: bool = True
    echoes: list[str] = field(default_factory=list)
    big: bool = False  # a multi-megabyte attachment is already in the body (one per case)

    def pick(self, draw: st.DrawFn, good: Sequence[T], bad: Sequence[T] = ()) -> T:
        """One of `good`, or (one time in `breaks`) one of `bad`, which makes the request invalid."""
        if bad and self.breaks and draw(st.integers(1, self.breaks)) == 1:
            self.valid = False
            return draw(st.sampled_from(bad))
        return draw(st.sampled_from(good))

    def mark(self, draw: st.DrawFn, kind: str) -> str:
        marker = f"qzx{kind}{draw(st.integers(0, 2**32 - 1)):08x}"
        self.secrets.append(marker)
        return marker


@dataclass(frozen=True)
class SurfaceCase:
    """One request: its JSON document, where it goes, and what must never be logged."""

    label: str
    document: Any
    path: str = OPENAI_PATH
    secrets: tuple[str, ...] = ()
    valid: bool = False
    echoes: tuple[str, ...] = ()  # valid cases: the stand-in's `[kind:format:size]` texts, in order
    tool: str | None = None  # valid cases: the tool the stand-in is asked to call
    reasons: bool = False  # valid cases: the stand-in is asked for reasoning and the model gives it

    @property
    def native(self) -> bool:
        return self.path != OPENAI_PATH

    def body(self) -> bytes:
        return json.dumps(self.document, ensure_ascii=True).encode()

    @property
    def wants_stream(self) -> bool:
        return isinstance(self.document, dict) and self.document.get("stream") is True

    def describe(self) -> str:
        body = self.body()
        return f"{self.label}: POST {self.path} body={len(body)}B {body[:300]!r}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sentence(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))


# --- wild values ----------------------------------------------------------------------------------

wild_text = st.text(st.characters(exclude_categories=()), max_size=12)
surrogate_text = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
wild_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    wild_text,
    surrogate_text,
)
wild_values = st.recursive(
    wild_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
# Neither a list nor null: what a field expecting a list (or an object) must refuse.
not_lists = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    wild_text,
    st.dictionaries(st.text(max_size=6), wild_scalars, max_size=3),
)
valid_tool_names = st.sampled_from(TOOL_NAMES) | st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
bad_tool_names = st.sampled_from(["", "get weather", "a" * 65, "naïve", "tool.x", "t/1"]) | wild_values
call_ids = st.from_regex(r"[a-zA-Z0-9_.:-]{1,64}", fullmatch=True)
bad_call_ids = st.sampled_from(["", "call 1", "c" * 65, "call/1", "ćall"]) | wild_values


# --- attachments ----------------------------------------------------------------------------------


def _payload(
    draw: st.DrawFn, draft: Draft, head: bytes, kind: str, limit: int, *, text: bool = False
) -> bytes:
    """`head`, a marker and some filler: mostly small, sometimes exactly at `limit` or one byte over it."""
    marker = draft.mark(draw, kind).encode()
    filler = draw(st.sampled_from([b"", b" notes", b"\n1,2,3\n"])) if text else draw(st.binary(max_size=24))
    data = head + marker + filler
    size = "small" if draft.big else draft.pick(draw, ["small"] * 14 + ["at-limit"], ["over-limit"])
    if size != "small":
        draft.big = True
        data += b"a" * (limit - len(data) + (size == "over-limit"))
    draft.secrets.append(b64(data)[:24])
    return data


_BROKEN_URLS = (
    "no-padding",
    "space",
    "urlsafe",
    "newline",
    "plain",
    "http",
    "https",
    "no-scheme",
    "empty-data",
    "not-ascii",
    "not-a-string",
    "percent",
)


def _data_url(draw: st.DrawFn, draft: Draft, media_type: str, data: bytes) -> Any:
    """A `data:` URL for `data`, or (sometimes) a broken one."""
    encoded = b64(data)
    form = draft.pick(draw, ["ok"], _BROKEN_URLS)
    if form == "not-a-string":
        return draw(not_lists)
    return {
        "ok": f"data:{media_type};base64,{encoded}",
        "no-padding": f"data:{media_type};base64,{encoded.rstrip('=')}x",
        "space": f"data:{media_type};base64, {encoded}",
        "urlsafe": f"data:{media_type};base64,{encoded.replace('+', '-').replace('/', '_')}-_",
        "newline": f"data:{media_type};base64,{encoded[:4]}\n{encoded[4:]}",
        "plain": f"data:{media_type},{encoded}",
        "http": f"http://example.com/{encoded[:8]}.png",
        "https": "https://169.254.169.254/latest/meta-data/",
        "no-scheme": f"{media_type};base64,{encoded}",
        "empty-data": f"data:{media_type};base64,",
        "not-ascii": f"data:{media_type};base64,{encoded}é=",
        "percent": f"data:{media_type};base64,%2F%2F8%3D",
    }[form]


def _image_bytes(draw: st.DrawFn, draft: Draft, image_format: str) -> bytes:
    """An image of `image_format`: its magic bytes, or (broken) another format's or none."""
    truth = draft.pick(draw, ["right"], ["other-magic", "no-magic"])
    magic = MAGIC[image_format]
    if truth == "other-magic":
        magic = MAGIC[draw(st.sampled_from(sorted(set(MAGIC) - {image_format})))]
    elif truth == "no-magic":
        magic = draw(
            st.binary(max_size=12).filter(lambda b: not b.startswith((b"\x89", b"\xff", b"G", b"R")))
        )
    return _payload(draw, draft, magic, "img", IMAGE_LIMIT)


@st.composite
def image_parts(draw: st.DrawFn, draft: Draft) -> Any:
    """An OpenAI `image_url` part: a data URL of an image (right, wrong or broken)."""
    image_format = draw(st.sampled_from(sorted(MAGIC)))
    data = _image_bytes(draw, draft, image_format)
    draft.echoes.append(f"[image:{image_format}:{len(data)}]")
    media_type = draft.pick(
        draw,
        [
            f"image/{image_format}",
            f"IMAGE/{image_format.upper()}",
            *(["image/jpg"] if image_format == "jpeg" else []),
        ],
        ["image/svg+xml", "", "application/pdf", f"image/{'png' if image_format != 'png' else 'gif'}"],
    )
    image_url: dict[str, Any] = {"url": _data_url(draw, draft, media_type, data)}
    if draw(st.booleans()):
        image_url["detail"] = draw(st.sampled_from(["auto", "low", "high"]))
    odd = draft.pick(draw, ["none"], ["extra-key", "url-extra", "not-object"])
    if odd == "extra-key":
        return {"type": "image_url", "image_url": image_url, "cache_control": {}}
    if odd == "url-extra":
        image_url["format"] = image_format
    elif odd == "not-object":
        return {"type": "image_url", "image_url": image_url["url"]}
    return {"type": "image_url", "image_url": image_url}


def _document_bytes(draw: st.DrawFn, draft: Draft, document_format: str) -> bytes:
    """A document of `document_format`: its container's head (or UTF-8 text), or a wrong one."""
    head = DOCUMENT_HEADS[document_format]
    textual = not head
    if textual:
        head = draft.pick(draw, [b""], [b"\x00", b"\xff\xfe", b"%PDF-1.7\n\x00"])
    else:
        head = draft.pick(draw, [head], sorted({h for h in DOCUMENT_HEADS.values() if h and h != head}))
    return _payload(draw, draft, head, "doc", DOCUMENT_LIMIT, text=textual)


@st.composite
def file_parts(draw: st.DrawFn, draft: Draft) -> Any:
    """An OpenAI `file` part: a document as a data URL or bare base64 with a filename (or broken)."""
    document_format = draw(st.sampled_from(sorted(DOCUMENT_MEDIA)))
    data = _document_bytes(draw, draft, document_format)
    draft.echoes.append(f"[document:{document_format}:{len(data)}]")
    transport = draft.pick(
        draw,
        ["data-url", "filename"],
        ["wrong-media", "no-type", "bad-extension", "file-id", "extra-key", "not-object"],
    )
    name = draft.mark(draw, "name")
    if transport == "data-url":
        file: dict[str, Any] = {"file_data": _data_url(draw, draft, DOCUMENT_MEDIA[document_format], data)}
        if draw(st.booleans()):
            file["filename"] = f"{name}.bin"  # the media type decides
        return {"type": "file", "file": file}
    if transport == "filename":
        extension = draw(st.sampled_from([document_format, document_format.upper()]))
        return {"type": "file", "file": {"file_data": b64(data), "filename": f"{name}.{extension}"}}
    broken: dict[str, Any] = {
        "wrong-media": {"file_data": f"data:application/zip;base64,{b64(data)}"},
        "no-type": {"file_data": b64(data), "filename": name},
        "bad-extension": {
            "file_data": b64(data),
            "filename": draw(st.sampled_from(["a.rtf", "a.", ".pdf.exe"])),
        },
        "file-id": {"file_id": "file-abc123", "file_data": b64(data)},
        "extra-key": {"file_data": b64(data), "filename": f"{name}.{document_format}", "mime_type": "x"},
        "not-object": b64(data),
    }
    return {"type": "file", "file": broken[transport]}


@st.composite
def user_contents(draw: st.DrawFn, draft: Draft, *, echoed: bool) -> Any:
    """A user message's content: text, images and files in any order (with text when it has files).
    `echoed`: its attachments are the ones the stand-in echoes (it is, or is part of, the last turn)."""
    before = len(draft.echoes)
    texts = [sentence(draw) for _ in range(draw(st.integers(0, 2)))]
    images = draft.pick(draw, [0, 0, 0, 1, 1, 2, 3], [21])
    files = draft.pick(draw, [0, 0, 0, 0, 1, 1, 2], [6])
    if files and not texts:
        texts = draft.pick(draw, [[sentence(draw)]], [[]])
    parts: list[Any] = [{"type": "text", "text": text} for text in texts]
    parts += [draw(image_parts(draft)) for _ in range(images)]
    parts += [draw(file_parts(draft)) for _ in range(files)]
    if not parts:
        return sentence(draw)
    order = draw(st.permutations(range(len(parts))))
    echoes = draft.echoes[before:]
    del draft.echoes[before:]
    if echoed:  # in the order the parts are sent
        draft.echoes += [echoes[index - len(texts)] for index in order if index >= len(texts)]
    if len(parts) == 1 and texts and draw(st.booleans()):
        return texts[0]
    return [parts[index] for index in order]


# --- tools ----------------------------------------------------------------------------------------


def _parameters(draw: st.DrawFn, draft: Draft) -> tuple[bool, Any]:
    """Whether to send `parameters`, and its value."""
    kind = draft.pick(draw, ["absent", "schema", "schema", "empty", "null"], ["wild", "not-object", "nan"])
    if kind == "absent":
        return False, None
    schema = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": draft.mark(draw, "param")},
            "count": {"type": "integer"},
            "unit": {"enum": ["c", "f"]},
        },
        "required": draw(st.lists(st.sampled_from(["query", "count", "unit"]), unique=True)),
    }
    values = {
        "schema": schema,
        "empty": {},
        "null": None,
        "wild": draw(wild_values),
        "not-object": {"type": draw(st.sampled_from(["string", "array"]))},
        "nan": {**schema, "maximum": float("nan")},
    }
    return True, values[kind]


@st.composite
def tool_definitions(draw: st.DrawFn, draft: Draft, name: str) -> Any:
    """One entry of `tools` naming `name`: a function tool (or, broken, something else)."""
    function: dict[str, Any] = {"name": name}
    description = draft.pick(draw, ["absent", "marker", "blank"], ["surrogate", "surrogate", "number"])
    if description != "absent":
        function["description"] = {
            "marker": f"Looks things up {draft.mark(draw, 'desc')}",
            "blank": " ",
            "surrogate": "Looks things up " + draw(surrogate_text),  # a lone surrogate
            "number": 5,
        }[description]
    present, parameters = _parameters(draw, draft)
    if present:
        function["parameters"] = parameters
    if draw(st.booleans()):
        function["strict"] = draw(st.booleans())
    shape = draft.pick(draw, ["ok"], ["bad-name", "missing-name", "custom", "extra", "not-object"])
    if shape == "bad-name":
        function["name"] = draw(bad_tool_names)
    elif shape == "missing-name":
        del function["name"]
    elif shape == "extra":
        function["examples"] = []
    broken = {"custom": {"type": "custom", "custom": {"name": name}}, "not-object": draw(not_lists)}
    return broken.get(shape, {"type": "function", "function": function})


@st.composite
def tool_lists(draw: st.DrawFn, draft: Draft) -> tuple[Any, list[str]]:
    """`tools` (absent as None) and its names (none when the list is broken)."""
    kind = draft.pick(draw, ["none", "some", "some"], ["duplicate", "129", "not-a-list"])
    if kind == "none":
        return None, []
    if kind == "129":
        return [{"type": "function", "function": {"name": f"tool_{i}"}} for i in range(129)], []
    if kind == "not-a-list":
        return draw(not_lists), []
    names = draw(st.lists(valid_tool_names, min_size=1, max_size=4, unique=True))
    valid_before = draft.valid
    tools = [draw(tool_definitions(draft, name)) for name in names]
    if kind == "duplicate":
        tools.append(tools[0])
    return tools, names if valid_before == draft.valid and kind == "some" else []


def _arguments(draw: st.DrawFn, draft: Draft) -> Any:
    """A tool call's `arguments`: a JSON object holding a marker (or empty), else anything."""
    marker = draft.mark(draw, "arg")
    kind = draft.pick(
        draw,
        ["object", "object", "object", "empty", "blank"],
        ["invalid", "array", "nan", "surrogate", "surrogate", "deep", "wild", "not-a-string"],
    )
    return {
        "object": json.dumps({"query": marker, "n": draw(st.integers(-5, 5))}),
        "empty": "",
        "blank": "  ",
        "invalid": '{"query": "' + marker,
        "array": json.dumps([marker]),
        "nan": '{"query": "' + marker + '", "n": NaN}',
        "surrogate": '{"query": "' + marker + '\\ud800"}',
        "deep": "[" * 5000 + "]" * 5000,
        "wild": draw(wild_text),
        "not-a-string": {"query": marker},
    }[kind]


def _reasoning_entry(draw: st.DrawFn, draft: Draft) -> Any:
    marker = draft.mark(draw, "think")
    kind = draft.pick(
        draw,
        ["text", "text", "encrypted", "unsigned", "summary"],
        ["empty-signature", "surrogate-signature", "bad-data", "bad-text", "wild"],
    )
    entries: dict[str, Any] = {
        "text": {"type": "reasoning.text", "text": f"I think {marker}", "signature": "sig-1", "index": 0},
        "encrypted": {"type": "reasoning.encrypted", "data": b64(marker.encode())},
        "unsigned": {"type": "reasoning.text", "text": marker},
        "summary": {"type": "reasoning.summary", "summary": marker},
        "empty-signature": {"type": "reasoning.text", "text": marker, "signature": ""},
        "surrogate-signature": {"type": "reasoning.text", "text": marker, "signature": draw(surrogate_text)},
        "bad-data": {"type": "reasoning.encrypted", "data": f"{marker}!"},
        "bad-text": {"type": "reasoning.text", "text": 5, "signature": marker},
        "wild": draw(wild_values),
    }
    return entries[kind]


@st.composite
def reasoning_details(draw: st.DrawFn, draft: Draft) -> Any:
    """`reasoning_details` sent back on an assistant message (OpenRouter's shape, or not)."""
    if draft.pick(draw, ["list"], ["not-a-list"]) == "not-a-list":
        return draw(not_lists)
    return [_reasoning_entry(draw, draft) for _ in range(draw(st.integers(0, 3)))]


def _tool_call(draw: st.DrawFn, draft: Draft, call_id: str, names: list[str]) -> Any:
    listed: bool = bool(names) and draw(st.booleans())
    name: str = draw(st.sampled_from(names)) if listed else draw(valid_tool_names)
    call: dict[str, Any] = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": _arguments(draw, draft)},
    }
    oddity = draft.pick(draw, ["none"], ["bad-id", "bad-name", "no-type", "wild"])
    if oddity == "bad-id":
        call["id"] = draw(bad_call_ids)
    elif oddity == "bad-name":
        call["function"]["name"] = draw(bad_tool_names)
    elif oddity == "no-type":
        del call["type"]
    elif oddity == "wild":
        return draw(wild_values)
    return call


@st.composite
def tool_rounds(draw: st.DrawFn, draft: Draft, names: list[str]) -> list[Any]:
    """An assistant message calling tools, then the tool messages answering it (or mis-answering it)."""
    count = draw(st.integers(1, 3))
    ids = [f"call_{index}" if draw(st.integers(0, 3)) else draw(call_ids) for index in range(count)]
    if len(set(ids)) != len(ids):
        ids = [f"call_{index}" for index in range(count)]
    if draft.pick(draw, ["unique"], ["duplicate"]) == "duplicate" and count > 1:
        ids[1] = ids[0]  # Bedrock refuses a toolUseId used twice in one message
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": draft.pick(draw, [None, None, "Let me check."], [""]),
        "tool_calls": [_tool_call(draw, draft, call_id, names) for call_id in ids],
    }
    if draw(st.booleans()):
        assistant["reasoning_details"] = draw(reasoning_details(draft))
    answers = list(dict.fromkeys(ids))
    pairing = draft.pick(draw, ["all", "all", "reordered"], ["missing", "unknown"])
    if pairing == "missing":
        answers.pop()
    elif pairing == "unknown":
        answers.append("call_unknown")
    elif pairing == "reordered":
        answers.reverse()
    results: list[Any] = []
    for call_id in answers:
        content: Any = f"result {draft.mark(draw, 'result')}"
        if draw(st.booleans()):
            content = [{"type": "text", "text": content}]
        results.append({"role": "tool", "tool_call_id": call_id, "content": content})
    return [assistant, *results]


# --- whole OpenAI requests ------------------------------------------------------------------------


def _tool_choice(draw: st.DrawFn, draft: Draft, names: list[str], *, forced: bool) -> Any:
    """`tool_choice` (None: absent); `forced` choices are allowed (Claude thinking forbids them)."""
    good: list[str] = ["absent", "absent", "auto", "none"]
    if names and forced:
        good += ["required", "named"]
    bad = ["unknown", "wild", "required-without-tools" if not names else "unknown"]
    if not forced and names:
        bad += ["required", "named"]
    kind = draft.pick(draw, good, bad)
    return {
        "absent": None,
        "auto": "auto",
        "none": "none",
        "required": "required",
        "required-without-tools": "required",
        "named": {"type": "function", "function": {"name": draw(st.sampled_from(names or ["x"]))}},
        "unknown": {"type": "function", "function": {"name": "nowhere"}},
        "wild": draw(not_lists | st.lists(wild_scalars, max_size=2)),
    }[kind]


def _conversation(
    draw: st.DrawFn, draft: Draft, names: list[str], *, rounds: int
) -> tuple[list[Any], list[Any] | None]:
    """The messages before the last user turn, and (unless tool messages end the conversation) the
    last user message's content parts."""
    pair = draw(st.booleans())
    messages: list[Any] = []
    if draw(st.booleans()):
        messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": sentence(draw)})
    # Without a turn in between, the first and the last user messages are one turn: both are echoed.
    messages.append({"role": "user", "content": draw(user_contents(draft, echoed=not pair and rounds == 0))})
    if pair:
        assistant: dict[str, Any] = {"role": "assistant", "content": sentence(draw)}
        if draw(st.booleans()):
            assistant["reasoning_details"] = draw(reasoning_details(draft))
        messages += [assistant, {"role": "user", "content": sentence(draw)}]
    for _ in range(rounds):
        messages += draw(tool_rounds(draft, names))
    if rounds and draw(st.booleans()):
        return messages, None  # the tool results are the last turn
    last = draw(user_contents(draft, echoed=True))
    return messages, [{"type": "text", "text": last}] if isinstance(last, str) else last


@st.composite
def openai_cases(draw: st.DrawFn, rates: Sequence[int] = (0, 0, 0, 60, 20, 4)) -> SurfaceCase:
    """A request through the OpenAI API exercising the surface; a piece is broken one time in a rate
    drawn from `rates` (0: never, so the request is valid)."""
    draft = Draft(breaks=draw(st.sampled_from(rates)))
    model = draw(st.sampled_from(MODEL_IDS))
    tools, names = draw(tool_lists(draft))
    can_reason = model in REASONING_MODELS
    effort = draft.pick(
        draw,
        [None, None, "none", *(EFFORTS if can_reason else ())],
        ["extreme", 1, *(() if can_reason else EFFORTS)],
    )
    reasoning_on = effort in EFFORTS and can_reason
    claude_thinking = reasoning_on and model in CLAUDE_REASONING
    choice = _tool_choice(draw, draft, names, forced=not claude_thinking)
    # Claude thinking wants the stand-in's own signed thinking block first in an assistant turn that
    # called a tool, as real Claude does: a fuzzed one is Bedrock's 400, so such rounds are left out.
    rounds = 0 if claude_thinking else draw(st.sampled_from([0, 0, 1, 1, 2]))
    messages, last = _conversation(draw, draft, names, rounds=rounds)
    tool = draw(st.sampled_from(names)) if names and choice != "none" and draw(st.booleans()) else None
    ask_reasoning = reasoning_on and draw(st.booleans())
    reasons = ask_reasoning or (claude_thinking and tool is not None)  # Claude thinks before a tool call
    if last is None:
        tool, reasons = None, False  # no text in the last turn, so no directives
    else:
        directives = ["@stub:tokens=3"] + ([f"@stub:tool={tool}"] if tool else [])
        directives += ["@stub:reasoning=2"] if ask_reasoning else []
        messages.append({"role": "user", "content": [*last, {"type": "text", "text": " ".join(directives)}]})
    document: dict[str, Any] = {"model": model, "messages": messages}
    for key, value in (("tools", tools), ("tool_choice", choice), ("reasoning_effort", effort)):
        if value is not None or draw(st.integers(0, 4)) == 0:
            document[key] = value
    budget = claude_thinking and model == HAIKU_45  # a thinking budget of at least 1024 below the limit
    limit = draft.pick(
        draw, [None, None, 1025, 4096, *([] if budget else [3])], [0, *([3] if budget else [])]
    )
    if limit is not None:
        document["max_completion_tokens"] = limit
    if draw(st.booleans()):
        document["stream"] = True
        if draw(st.booleans()):
            document["stream_options"] = {"include_usage": True}
    if draw(st.integers(0, 3)) == 0:
        document["temperature"] = 0.5
    return SurfaceCase(
        "openai",
        document,
        secrets=tuple(draft.secrets),
        valid=draft.valid,
        echoes=tuple(draft.echoes if last is not None else ()),
        tool=tool,
        reasons=reasons,
    )


# --- native requests --------------------------------------------------------------------------------

_ODD_BLOCKS: tuple[dict[str, Any], ...] = (
    {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo"}}},
    {"image": {"format": "png", "source": {"url": "https://example.com/a.png"}}},
    {"document": {"name": "x", "format": "txt", "source": {"bytes": "aGk="}}},
    {"image": {"format": "png"}, "text": "x"},
    {"video": {}},
)


@st.composite
def native_blocks(draw: st.DrawFn, draft: Draft) -> Any:
    """A native image or document block (right, wrong or broken)."""
    kind = draft.pick(draw, ["image", "document"], ["odd", "wild"])
    if kind == "image":
        image_format = draw(st.sampled_from(sorted(MAGIC)))
        declared = draft.pick(draw, [image_format], ["jpg", "bmp", "PNG"])
        data = _image_bytes(draw, draft, image_format)
        draft.echoes.append(f"[image:{image_format}:{len(data)}]")
        return {"image": {"format": declared, "source": {"bytes": b64(data)}}}
    if kind == "document":
        document_format = draw(st.sampled_from(sorted(DOCUMENT_MEDIA)))
        data = _document_bytes(draw, draft, document_format)
        draft.echoes.append(f"[document:{document_format}:{len(data)}]")
        return {"document": {"format": document_format, "source": {"bytes": b64(data)}}}
    draft.echoes.append("")
    return draw(st.sampled_from(_ODD_BLOCKS)) if kind == "odd" else draw(wild_values)


@st.composite
def native_cases(draw: st.DrawFn) -> SurfaceCase:
    """A native request (POST /) with image and document blocks and a reasoning effort."""
    draft = Draft(breaks=draw(st.sampled_from([0, 0, 0, 60, 20, 4])))
    model = draw(st.sampled_from(MODEL_IDS))
    blocks = [draw(native_blocks(draft)) for _ in range(draft.pick(draw, [0, 1, 1, 2, 3], [21]))]
    if sum(1 for block in blocks if isinstance(block, dict) and "document" in block) > 5:
        draft.valid = False
    can_reason = model in REASONING_MODELS
    effort = draft.pick(
        draw,
        [None, "none", *(EFFORTS if can_reason else ())],
        ["extreme", 1, *(() if can_reason else EFFORTS)],
    )
    reasoning_on = effort in EFFORTS and can_reason
    reasons = reasoning_on and draw(st.booleans())
    directives = "@stub:tokens=2" + (" @stub:reasoning=2" if reasons else "")
    has_document = any(isinstance(block, dict) and "document" in block for block in blocks)
    with_text = draft.pick(draw, [True], [False]) if has_document else draw(st.booleans()) or not blocks
    text_block = [{"text": f"{sentence(draw)} {directives}"}] if with_text else []
    order = draw(st.permutations(range(len(blocks) + len(text_block))))
    content = [(blocks + text_block)[index] for index in order]
    echoes = [draft.echoes[index] for index in order if index < len(blocks)]
    messages: list[Any] = [{"role": "user", "content": content}]
    if draw(st.booleans()):
        image = {"image": {"format": "png", "source": {"bytes": b64(MAGIC["png"])}}}
        answer = draft.pick(draw, ["ok", [{"text": "ok"}]], [[{"text": "ok"}, image]])
        messages = [
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": answer},
            *messages,
        ]
    document: dict[str, Any] = {"modelId": model, "messages": messages}
    if effort is not None or draw(st.booleans()):
        document["reasoning"] = effort
    fmt = draw(st.sampled_from(["sse", "ndjson", "text"]))
    return SurfaceCase(
        f"native-{fmt}",
        document,
        path=f"/?format={fmt}",
        secrets=tuple(draft.secrets),
        valid=draft.valid,
        echoes=tuple(echoes),
        reasons=reasons and with_text and fmt != "text",
    )


# --- one fault a shallow check lets through -------------------------------------------------------

SUBTLE_FAULTS = (
    "description-surrogate",
    "parameters-surrogate",
    "parameters-nan",
    "parameters-not-object",
    "arguments-surrogate",
    "arguments-nan",
    "signature-surrogate",
    "text-surrogate",
    "duplicate-call-ids",
    "empty-content-with-tool-calls",
    "claude-thinking-after-a-tool-call",
)


def _round(call_ids: Sequence[str], arguments: str = "{}", content: Any = None) -> list[Any]:
    calls = [
        {"id": call_id, "type": "function", "function": {"name": "zz_fault", "arguments": arguments}}
        for call_id in call_ids
    ]
    results = [
        {"role": "tool", "tool_call_id": call_id, "content": "done"} for call_id in dict.fromkeys(call_ids)
    ]
    return [{"role": "assistant", "content": content, "tool_calls": calls}, *results]


def _fault_tool(draw: st.DrawFn, fault: str, lone: str) -> dict[str, Any]:
    """A tool definition holding `fault`."""
    function: dict[str, Any] = {"name": "zz_fault"}
    if fault == "description-surrogate":
        function["description"] = f"x{lone}"
    elif fault == "parameters-surrogate":
        function["parameters"] = {"type": "object", "properties": {"q": {"type": "string", "title": lone}}}
    elif fault == "parameters-nan":
        function["parameters"] = {"type": "object", "properties": {"n": {"maximum": float("nan")}}}
    else:
        function["parameters"] = {"type": draw(st.sampled_from(["string", "array", "integer"]))}
    return {"type": "function", "function": function}


def _fault_turns(draw: st.DrawFn, fault: str, lone: str) -> list[Any]:
    """Messages holding `fault`, to go before the last user message."""
    if fault in ("signature-surrogate", "text-surrogate"):
        entry = {"type": "reasoning.text", "text": "t", "signature": "s"}
        entry["signature" if fault == "signature-surrogate" else "text"] = f"s{lone}"
        return [
            {"role": "assistant", "content": "a", "reasoning_details": [entry]},
            {"role": "user", "content": "go"},
        ]
    arguments = {
        "arguments-surrogate": json.dumps({"q": f"x{lone}"}, ensure_ascii=True),
        "arguments-nan": draw(st.sampled_from(['{"n": NaN}', '{"n": Infinity}', '{"n": -Infinity}'])),
    }.get(fault, "{}")
    ids = ["call_f", "call_f"] if fault == "duplicate-call-ids" else ["call_f"]
    return _round(ids, arguments, "" if fault == "empty-content-with-tool-calls" else None)


@st.composite
def subtle_cases(draw: st.DrawFn) -> SurfaceCase:
    """A valid request with one fault that only a deep check catches (a lone surrogate, a non-JSON
    number, a duplicate id ...): still a 4xx or a 200, never Bedrock's refusal passed on as a 5xx."""
    case = draw(openai_cases(rates=(0,)))
    document = json.loads(case.body())
    fault = draw(st.sampled_from(SUBTLE_FAULTS))
    lone = draw(st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]))
    if fault.startswith(("description", "parameters")):
        document["tools"] = [*(document.get("tools") or []), _fault_tool(draw, fault, lone)]
        if document.get("tool_choice") == "none" and draw(st.booleans()):
            document["tool_choice"] = "auto"  # so that the tools are sent
        return SurfaceCase(f"subtle-{fault}", document, secrets=case.secrets)
    if fault == "claude-thinking-after-a-tool-call":  # sent back without its thinking block
        document.update(model=HAIKU_45, reasoning_effort=draw(st.sampled_from(EFFORTS)))
        document.pop("max_completion_tokens", None)
        if document.get("tool_choice") not in (None, "auto", "none"):
            document["tool_choice"] = "auto"
    messages = document["messages"]
    if messages[-1]["role"] != "user":
        messages.append({"role": "user", "content": "go on"})
    if all(message["role"] in ("system", "developer") for message in messages[:-1]):
        messages.insert(-1, {"role": "user", "content": "hi"})
    messages[-1:-1] = _fault_turns(draw, fault, lone)
    return SurfaceCase(f"subtle-{fault}", document, secrets=case.secrets)
