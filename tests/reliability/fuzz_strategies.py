"""Hypothesis strategies for the fuzz tests: Function URL requests, malformed HTTP, and raw Function URL
events, each paired with what the test may expect of the reply.

`http_cases()` builds HTTP-valid requests with arbitrary methods, headers, query strings, cookies and
bodies; `chat_cases()` builds valid chat requests (with `@stub:` directives) whose exact reply is known
from the stand-in's deterministic `reply_tokens`; `malformed_http()` builds byte strings that break
HTTP/1.1 on purpose; `events()` builds payload-2.0 events (and non-events) for the runtime directly.
"""

from __future__ import annotations

import base64
import json
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from emulator.stub_replies import DirectiveError, parse_directives, pre_stream_error, reply_tokens

# RFC 9110 token characters (method and header names).
TCHAR = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
# Header field values: visible ASCII, space and tab inside, and obs-text (latin-1 0x80-0xFF).
_VALUE_CHARS = st.characters(
    codec="latin-1", exclude_characters="\r\n\x00\x7f", min_codepoint=0x20
) | st.just("\t")
# Names the raw client sets itself, or which would change the framing rather than fuzz the function.
_FRAMING_HEADERS = frozenset({"host", "connection", "content-length", "transfer-encoding", "expect"})

# What the handler answers for each pre-stream error directive (status, error type).
_PRE_STREAM_EXPECT = {
    "ThrottlingException": (429, "throttled"),
    "AccessDeniedException": (502, "bedrock_access_denied"),
    "ResourceNotFoundException": (502, "bedrock_model_not_found"),
    "ServiceUnavailableException": (503, "bedrock_unavailable"),
    "ModelTimeoutException": (504, "bedrock_timeout"),
}
FORMATS = ("text", "sse", "ndjson")
MAX_REPLY_TOKENS = 30


@dataclass(frozen=True)
class Expected:
    """The exact reply a valid chat request must get."""

    status: int
    error_type: str | None = None  # for a status other than 200
    text: str = ""  # the full reply text (200), or the text it must start with (when `ends_in_error`)
    ends_in_error: bool = False  # the stream ends with an in-band error event after `text`'s prefix
    fmt: str = "text"


@dataclass(frozen=True)
class HttpCase:
    """One request to send through the Function URL, and the exact outcome when it is known."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool = False
    expected: Expected | None = None

    def describe(self) -> str:
        return f"{self.method} {self.target[:80]} headers={len(self.headers)} body={len(self.body)}B"


# --- pieces ----------------------------------------------------------------------------------------

tokens = st.text(alphabet=TCHAR, min_size=1, max_size=24)
# Mostly POST (so most requests reach the handler's validation and the stream), sometimes any token.
methods = st.sampled_from([*["POST"] * 12, "GET", "PUT", "DELETE", "OPTIONS", "HEAD", ""]).flatmap(
    lambda method: st.just(method) if method else tokens
)
header_names = tokens.filter(lambda name: name.lower() not in _FRAMING_HEADERS)
header_values = st.text(_VALUE_CHARS, max_size=64).map(str.strip)
# Huge values, up to and past http.server's 64 KiB line cap (431 beyond it).
huge_header_values = st.sampled_from([4_000, 30_000, 65_000, 70_000]).map(lambda size: "v" * size)


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Random headers, some names repeated (the event joins repeats with commas)."""
    pairs = draw(st.lists(st.tuples(header_names, header_values), max_size=6))
    if pairs and draw(st.booleans()):
        name = pairs[0][0]
        pairs += [(name, value) for value in draw(st.lists(header_values, min_size=1, max_size=3))]
    if draw(st.sampled_from([False] * 7 + [True])):
        pairs.append((draw(header_names), draw(huge_header_values)))
    return pairs


query_strings = st.one_of(
    st.just(""),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=24)), max_size=5).map(
        lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "=&%;+,/?:@!$'()*[]-._~", max_size=40),
    st.sampled_from((*FORMATS, "SSE", "bogus", "")).map(lambda fmt: f"format={fmt}"),
)
paths = st.one_of(
    st.just("/"),
    st.text(alphabet=string.ascii_letters + string.digits + "/-._~%!$&'()*+,;=:@", max_size=40).map(
        lambda path: "/" + path
    ),
)
cookies = st.lists(
    st.tuples(st.text(alphabet=TCHAR, min_size=1, max_size=10), st.text(_VALUE_CHARS, max_size=20)),
    max_size=4,
).map(lambda pairs: "; ".join(f"{k}={v.strip().replace(';', '')}" for k, v in pairs))
content_types = st.sampled_from(
    [
        *[None, "application/json"] * 4,
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.api+json",
        "text/plain",
        "text/plain; charset=latin-1",
        "text/html",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "",
        ";;;",
    ]
)
accepts = st.sampled_from([None, "text/event-stream", "application/x-ndjson", "*/*", "text/html", "x/y"])

good_directives = st.one_of(
    st.integers(0, MAX_REPLY_TOKENS).map(lambda n: f"@stub:tokens={n}"),
    st.integers(0, MAX_REPLY_TOKENS).map(lambda n: f"@stub:error-after={n}"),
    st.integers(0, MAX_REPLY_TOKENS).map(lambda n: f"@stub:drop-after={n}"),
    st.integers(0, 3).map(lambda n: f"@stub:delay-ms={n}"),
    st.integers(0, 30).map(lambda n: f"@stub:first-token-ms={n}"),
    st.integers(0, 30).map(lambda n: f"@stub:hang-ms={n}"),
    st.sampled_from(
        [
            "@stub:throttle",
            "@stub:access-denied",
            "@stub:not-found",
            "@stub:unavailable",
            "@stub:model-timeout",
        ]
    ),
)
bad_directives = st.sampled_from(
    ["@stub:tokens=abc", "@stub:tokens=-1", "@stub:bogus", "@stub:throttle=1", "@stub:tokens=999999999"]
)
words = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
)


@st.composite
def prompts(draw: st.DrawFn, *, bad: bool = False) -> str:
    """A non-empty prompt of words with a few directives (the stand-in removes them)."""
    parts = draw(st.lists(words, min_size=1, max_size=6))
    parts += draw(st.lists(good_directives, max_size=3))
    if bad:
        parts.append(draw(bad_directives))
    return " ".join(draw(st.permutations(parts)))


# --- JSON bodies -----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = ("prompt", "messages", "system", "modelId", "maxTokens", "temperature", "topP", "stopSequences")


@st.composite
def contract_violations(draw: st.DrawFn) -> bytes:
    """A chat request with one field given a wrong type or value, an unknown field, or fields missing."""
    doc: dict[str, Any] = {"prompt": draw(prompts())}
    kind = draw(st.sampled_from(["wrong-type", "unknown-field", "both", "neither", "non-finite", "messages"]))
    if kind == "wrong-type":
        doc[draw(st.sampled_from(_FIELDS))] = draw(json_values)
    elif kind == "unknown-field":
        doc[draw(st.text(min_size=1, max_size=16).filter(lambda k: k not in _FIELDS))] = draw(json_values)
    elif kind == "both":
        doc["messages"] = [{"role": "user", "content": "hi"}]
    elif kind == "neither":
        del doc["prompt"]
        doc["system"] = "be brief"
    elif kind == "non-finite":
        doc[draw(st.sampled_from(["temperature", "topP", "maxTokens"]))] = draw(
            st.sampled_from([float("nan"), float("inf"), -1, 2, 0, 10**6])
        )
    else:
        doc = {"messages": draw(st.lists(json_values, max_size=4))}
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def deep_json(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([10, 990, 1_100, 5_000, 100_000]) | st.integers(10, 200_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = (opener * depth + "1" + closer * depth).encode()
    return b'{"prompt": ' + inner + b"}" if draw(st.booleans()) else inner


huge_json = st.sampled_from([300 * 1024, 7 * 1024 * 1024]).map(
    lambda size: json.dumps({"prompt": "x" * size}).encode()
)
invalid_utf8 = st.binary(max_size=64).map(lambda data: b'{"prompt": "' + data + b'\xff\xfe\xc3"}')
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=512),
    invalid_utf8,
    contract_violations(),
    deep_json(),
    huge_json,
    json_values.map(lambda value: json.dumps(value).encode()),
    *[prompts().map(lambda prompt: json.dumps({"prompt": prompt}).encode())] * 6,
    prompts(bad=True).map(lambda prompt: json.dumps({"prompt": prompt}).encode()),
    prompts().map(str.encode),
    st.text(max_size=40).map(lambda text: json.dumps({"prompt": text}, ensure_ascii=True).encode()),
    st.just(b'{"prompt": "\\ud800 lone surrogate"}'),
)


# --- whole requests --------------------------------------------------------------------------------


@st.composite
def http_cases(draw: st.DrawFn) -> HttpCase:
    """An HTTP-valid request with arbitrary method, target, headers, cookies and body; in about a third
    of them only the headers, cookies and path are arbitrary, so that many reach the stream."""
    streamable = draw(st.sampled_from([False, False, True]))
    headers = draw(header_lists())
    ctype = draw(st.sampled_from([None, "application/json"]) if streamable else content_types)
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    if (accept := draw(accepts)) is not None:
        headers.append(("Accept", accept))
    if jar := draw(cookies):
        headers.append(("Cookie", jar))
    query = draw(
        st.sampled_from(["", "format=sse", "format=ndjson", "a=1&a=2"]) if streamable else query_strings
    )
    target = draw(paths) + (f"?{query}" if query else "")
    body = draw(
        prompts().map(lambda prompt: json.dumps({"prompt": prompt}).encode()) if streamable else bodies
    )
    return HttpCase(
        method="POST" if streamable else draw(methods),
        target=target,
        headers=tuple(headers),
        body=body,
        chunked=draw(st.booleans()),
    )


def expected_reply(prompt: str, *, fmt: str, max_tokens: int | None) -> Expected:
    """What the handler answers for a valid `prompt`, computed from the stand-in's own rules."""
    try:
        directives, clean = parse_directives(prompt)
    except DirectiveError:
        return Expected(status=502, error_type="bedrock_rejected", fmt=fmt)
    if (error := pre_stream_error(directives)) is not None:
        status, error_type = _PRE_STREAM_EXPECT[error.code]
        return Expected(status=status, error_type=error_type, fmt=fmt)
    count = directives.tokens if max_tokens is None else min(directives.tokens, max_tokens)
    cut = min(v for v in (directives.error_after, directives.drop_after, count) if v is not None)
    if cut == 0 < count:
        # Nothing was sent yet, so every format gets a status; the stand-in drops first when both are 0.
        dropped = directives.drop_after == 0
        error_type = "bedrock_stream_interrupted" if dropped else "modelStreamErrorException"
        return Expected(status=502, error_type=error_type, fmt=fmt)
    text = "".join(reply_tokens(clean, count)[:cut])
    return Expected(status=200, text=text, ends_in_error=cut < count, fmt=fmt)


@st.composite
def chat_cases(draw: st.DrawFn) -> HttpCase:
    """A valid chat request (JSON or text/plain; any output format) with its exact expected reply."""
    prompt = draw(prompts())
    fmt = draw(st.sampled_from(FORMATS))
    headers = [(f"x-fuzz-{name}", value) for name, value in draw(header_lists()) if len(value) < 4000]
    if jar := draw(cookies):
        headers.append(("Cookie", jar))
    max_tokens = draw(st.none() | st.integers(1, MAX_REPLY_TOKENS))
    via = draw(st.sampled_from(["json", "text", "messages"]))
    if via == "text" and max_tokens is None:
        headers.append(("Content-Type", draw(st.sampled_from(["text/plain", "text/plain; charset=utf-8"]))))
        body = prompt.encode()
    else:
        doc: dict[str, Any] = (
            {"prompt": prompt}
            if via != "messages"
            else {
                "messages": [
                    {"role": "user", "content": "hello"},
                    {"role": "assistant", "content": "hi"},
                    {"role": "user", "content": prompt},
                ]
            }
        )
        if max_tokens is not None:
            doc["maxTokens"] = max_tokens
        if draw(st.booleans()):
            doc["temperature"] = draw(st.floats(0, 1))
        headers.append(("Content-Type", "application/json"))
        body = json.dumps(doc).encode()
    use_query = draw(st.booleans())
    if not use_query and fmt != "text":
        headers.append(("Accept", "text/event-stream" if fmt == "sse" else "application/x-ndjson"))
    target = f"/?format={fmt}" if use_query else "/"
    return HttpCase(
        method="POST",
        target=target,
        headers=tuple(draw(st.permutations(headers))),
        body=body,
        chunked=draw(st.booleans()),
        expected=expected_reply(prompt, fmt=fmt, max_tokens=max_tokens),
    )


# --- malformed HTTP --------------------------------------------------------------------------------


@st.composite
def malformed_http(draw: st.DrawFn) -> bytes:  # noqa: PLR0911 - one return per kind
    """Bytes that are not a valid HTTP/1.1 request, each broken in one deliberate way."""
    body = b'{"prompt": "hi"}'
    ok_head = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    kind = draw(
        st.sampled_from(
            [
                "garbage-line",
                "bad-version",
                "no-version",
                "long-target",
                "long-header",
                "many-headers",
                "bad-content-length",
                "bad-chunk-size",
                "truncated-chunks",
                "header-without-colon",
                "binary-request-line",
            ]
        )
    )
    if kind == "garbage-line":
        return draw(st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b)) + b"\r\n\r\n"
    if kind == "bad-version":
        version = draw(st.sampled_from([b"HTTP/2.0", b"HTTP/1.x", b"HTTP/9.9", b"HTTX/1.1", b"HTTP/1"]))
        return b"POST / " + version + b"\r\nHost: x\r\nConnection: close\r\n\r\n"
    if kind == "no-version":
        return b"POST /\r\n\r\n"
    if kind == "long-target":
        return b"POST /" + b"a" * draw(st.integers(65_537, 100_000)) + b" HTTP/1.1\r\n\r\n"
    if kind == "long-header":
        return ok_head + b"X-Long: " + b"v" * draw(st.integers(65_537, 100_000)) + b"\r\n\r\n"
    if kind == "many-headers":
        count = draw(st.integers(101, 300))
        return ok_head + b"".join(b"X-%d: y\r\n" % i for i in range(count)) + b"\r\n"
    if kind == "bad-content-length":
        value = draw(st.sampled_from([b"abc", b"-5", b"1e3", b"5, 5", b"0x10", b"99999999999999999999"]))
        return ok_head + b"Content-Length: " + value + b"\r\n\r\n" + body
    if kind == "bad-chunk-size":
        size = draw(st.sampled_from([b"ZZ", b"-1", b"", b"1 2", b"\xff"]))
        return ok_head + b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    if kind == "truncated-chunks":
        return ok_head + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % (len(body) + 10) + body
    if kind == "header-without-colon":
        return ok_head + b"NoColonHere\r\nContent-Length: 2\r\n\r\n{}"
    return draw(st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b)) + b" / HTTP/1.1\r\n\r\n"


# --- raw events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventCase:
    """A payload for the runtime; `is_json` says whether it is a JSON document at all."""

    payload: bytes
    is_json: bool
    expected: Expected | None = None
    label: str = ""


def base_event(
    body: str, *, b64: object = False, method: object = "POST", fmt: str = "text"
) -> dict[str, Any]:
    """A payload-2.0 Function URL event as the emulator builds it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": f"format={fmt}",
        "headers": {"content-type": "application/json", "host": "127.0.0.1"},
        "queryStringParameters": {"format": fmt},
        "requestContext": {"http": {"method": method, "path": "/", "protocol": "HTTP/1.1"}},
        "body": body,
        "isBase64Encoded": b64,
    }


@st.composite
def valid_events(draw: st.DrawFn) -> EventCase:
    """A correct event, plain or base64-encoded, whose exact reply is known."""
    prompt, fmt = draw(prompts()), draw(st.sampled_from(FORMATS))
    body = json.dumps({"prompt": prompt})
    encoded = draw(st.booleans())
    text = base64.b64encode(body.encode()).decode() if encoded else body
    event = base_event(text, b64=encoded, fmt=fmt)
    expected = expected_reply(prompt, fmt=fmt, max_tokens=None)
    return EventCase(json.dumps(event).encode(), True, expected, f"valid b64={encoded}")


@st.composite
def lying_events(draw: st.DrawFn) -> EventCase:
    """Events whose parts lie or have the wrong type: base64 flags, body, headers, method, query."""
    good = json.dumps({"prompt": draw(prompts())})
    kind = draw(
        st.sampled_from(
            [
                "b64-true-not-base64",
                "b64-true-invalid-utf8",
                "b64-false-binary",
                "b64-flag-odd",
                "body-wrong-type",
                "headers-wrong",
                "context-wrong",
                "query-wrong",
                "extra-keys",
            ]
        )
    )
    event = base_event(good)
    if kind == "b64-true-not-base64":
        event.update(body=draw(st.text(min_size=1, max_size=40)) + "!*", isBase64Encoded=True)
    elif kind == "b64-true-invalid-utf8":
        raw = draw(st.binary(max_size=40)) + b"\xff\xfe"
        event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    elif kind == "b64-false-binary":
        event.update(body=draw(st.text(max_size=40)) + "\ud800\x00\x01", isBase64Encoded=False)
    elif kind == "b64-flag-odd":
        event["isBase64Encoded"] = draw(st.sampled_from(["false", "true", 1, 0, None, [], {}]))
    elif kind == "body-wrong-type":
        event["body"] = draw(json_values)
    elif kind == "headers-wrong":
        event["headers"] = draw(json_values)
    elif kind == "context-wrong":
        where = draw(st.sampled_from(["requestContext", "http", "method"]))
        if where == "requestContext":
            event["requestContext"] = draw(json_values)
        elif where == "http":
            event["requestContext"] = {"http": draw(json_values)}
        else:
            event["requestContext"] = {"http": {"method": draw(json_values)}}
    elif kind == "query-wrong":
        event["queryStringParameters"] = draw(json_values | st.dictionaries(st.just("format"), json_values))
    else:
        event.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4)))
    return EventCase(json.dumps(event).encode(), True, None, kind)


@st.composite
def non_events(draw: st.DrawFn) -> EventCase:
    """JSON that is not an event object, or not JSON at all."""
    kind = draw(st.sampled_from(["json-value", "not-json", "deep"]))
    if kind == "json-value":
        return EventCase(json.dumps(draw(json_values)).encode(), True, None, kind)
    if kind == "deep":
        depth = draw(st.integers(2_000, 100_000))
        return EventCase(b"[" * depth + b"]" * depth, False, None, kind)
    data = draw(st.binary(min_size=1, max_size=200).filter(lambda b: not _parses(b)))
    return EventCase(data, False, None, kind)


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


events = st.one_of(valid_events(), lying_events(), non_events())
