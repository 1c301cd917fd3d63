"""Fuzzing (hypothesis) the emulated REST API's authorization: arbitrary API keys and ID tokens (empty,
huge, non-ASCII, near misses of the real key, `alg: none`, a wrong `kid`, HS256, mangled signatures) in
every header form. Each is refused with the exact gateway response, never reaches the function (the
runtime's invocation count stands still), and never appears in any log line of the emulator or runtime.

Sizes: FUZZ_EXAMPLES examples per test (default 150, a CI run); FUZZ_SEED=N replays a random run.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterator

import jwt
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tests.reliability.fuzz_target import EXAMPLES, fuzz_settings
from tests.reliability.raw_http import RawReply, build_request, exchange
from tests.support.rest_api import RestApiProcess, UserPool, write_key_file

VALID_KEY = "sk-fuzz-valid-0123456789abcd"
UNAUTHORIZED = b'{"error": {"type": "unauthorized", "message": "Unauthorized", "code": "unauthorized"}}'
INVALID_KEY = b'{"error": {"type": "invalid_api_key", "message": "Forbidden", "code": "invalid_api_key"}}'
BODY = b'{"prompt": "hello @stub:tokens=2"}'
PRINTABLE = string.ascii_letters + string.digits + string.punctuation
# Shorter values could occur in the log by chance ("Bearer", a digit of a port); they say nothing.
MIN_CHECKED_CHARS = 8

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


class Api:
    """One emulated REST API under fuzz: its address, and its log and invocation count."""

    def __init__(self, process: RestApiProcess) -> None:
        self.process = process
        host = process.root.split("//", 1)[1].rstrip("/")
        self.host = host
        self.address = ("127.0.0.1", int(host.rsplit(":", 1)[1]))

    def send(self, headers: list[tuple[str, str]]) -> RawReply:
        data = build_request(
            "POST",
            "/prod/",
            [("Content-Type", "application/json"), ("Accept", "text/event-stream"), *headers],
            BODY,
            host=self.host,
        )
        return exchange(self.address, data, timeout=20)


def wire_value(value: str) -> str:
    """How a value travels in a header line: UTF-8 bytes (as latin-1 text), without line breaks."""
    return value.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogatepass").decode("latin-1")


def assert_refused_and_unlogged(api: Api, header: tuple[str, str], secret: str) -> bytes:
    """The request is refused with a gateway response, the runtime never saw it, and nothing logged
    while it was handled (the emulator's and the runtime's lines alike) shows the key or token."""
    before, logged_before = api.process.invocations(), len(api.process.log())
    reply = api.send([header])
    assert reply.status in (401, 403), (reply.status, reply.body[:200])
    assert reply.body in (UNAUTHORIZED, INVALID_KEY)
    assert api.process.invocations() == before, "a refused request reached the function"
    request_id = reply.header("x-amzn-RequestId")
    api.process.wait_for_log(rf"\[{request_id}\] REST API refused ")
    logged = api.process.log()[logged_before:]
    for shown in {secret.strip(), wire_value(secret).strip(), header[1].strip()}:
        if len(shown) >= MIN_CHECKED_CHARS:
            assert shown not in logged, "a presented key or token is in the log"
    return reply.body


# --- API keys ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    keys = write_key_file(tmp_path_factory.mktemp("fuzz-keys"), [{"name": "valid", "value": VALID_KEY}])
    with RestApiProcess(["--api-keys", str(keys), "--timeout", "10"]) as process:
        yield Api(process)
    assert "unexpected error serving" not in process.log()


def near_misses() -> st.SearchStrategy[str]:
    """The real key with one character changed, dropped or added."""
    index = st.integers(0, len(VALID_KEY) - 1)
    char = st.sampled_from(PRINTABLE)
    return st.one_of(
        st.builds(lambda i, c: VALID_KEY[:i] + c + VALID_KEY[i + 1 :], index, char),
        st.builds(lambda i: VALID_KEY[:i] + VALID_KEY[i + 1 :], index),
        st.builds(lambda i, c: VALID_KEY[:i] + c + VALID_KEY[i:], index, char),
    )


KEYS = st.one_of(
    st.just(""),
    st.text(max_size=200),
    st.text(alphabet=PRINTABLE, min_size=20, max_size=128),  # well formed, unknown
    st.text(alphabet=PRINTABLE, min_size=5000, max_size=20000),  # huge
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF), min_size=1, max_size=64),
    near_misses(),
)
KEY_FORMS = st.sampled_from(["Bearer {}", "bearer {}", "BEARER  {}", "{}", "Basic {}", "x-api-key"])


@fuzz_settings(EXAMPLES)
@given(key=KEYS, form=KEY_FORMS)
@example(key="", form="Bearer {}")
@example(key=VALID_KEY.upper(), form="Bearer {}")
@example(key="é" * 30, form="x-api-key")
@example(key=VALID_KEY + " ", form="{}")
def test_fuzzed_api_keys_are_refused_and_never_logged(keyed: Api, key: str, form: str) -> None:
    assume(key.strip() != VALID_KEY)
    if form == "x-api-key":
        header = ("x-api-key", wire_value(key))
    else:
        header = ("Authorization", wire_value(form.format(key)))
    assert_refused_and_unlogged(keyed, header, key)


def test_the_real_key_still_works_and_is_never_logged(keyed: Api) -> None:
    reply = keyed.send([("Authorization", f"Bearer {VALID_KEY}")])
    assert reply.status == 200 and reply.framing == "chunked" and b"event: done" in reply.body
    keyed.process.wait_for_log(r'"door":"rest-api"')
    assert VALID_KEY not in keyed.process.log()


# --- Cognito ID tokens -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> UserPool:
    return UserPool(tmp_path_factory.mktemp("fuzz-pool"))


@pytest.fixture(scope="module")
def cognito(pool: UserPool) -> Iterator[Api]:
    with RestApiProcess([*pool.args(), "--timeout", "10"]) as process:
        yield Api(process)
    assert "unexpected error serving" not in process.log()


def _segment(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def fuzzed_tokens(pool: UserPool) -> st.SearchStrategy[str]:
    claims = st.fixed_dictionaries(
        {},
        optional={
            "sub": st.text(max_size=40),
            "aud": st.sampled_from(["test-app-client-0123456789", "other", ""]),
            "token_use": st.sampled_from(["id", "access", ""]),
            "exp": st.integers(-(2**40), 2**40),
        },
    ).map(lambda overrides: pool.claims(**overrides))
    alg_none = claims.map(lambda c: f"{_segment({'alg': 'none', 'kid': pool.kid})}.{_segment(c)}.")
    wrong_kid = st.builds(
        lambda c, kid: jwt.encode(c, pool.private_key, algorithm="RS256", headers={"kid": kid}),
        claims,
        st.text(min_size=1, max_size=30).filter(lambda kid: kid != pool.kid),
    )
    hs256 = st.builds(
        lambda c, secret: jwt.encode(c, secret, algorithm="HS256", headers={"kid": pool.kid}),
        claims,
        st.text(alphabet=PRINTABLE, min_size=32, max_size=64),
    )
    mangled = st.builds(
        lambda c, cut: pool.token(**{k: v for k, v in c.items() if k in ("sub",)})[:-cut] + "AAAA",
        claims,
        st.integers(1, 40),
    )
    return st.one_of(
        st.just(""),
        st.text(max_size=300),
        st.text(alphabet=PRINTABLE, min_size=5000, max_size=20000),
        st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF), min_size=1, max_size=64),
        st.lists(st.text(alphabet=string.ascii_letters + "-_", max_size=80), min_size=3, max_size=3).map(
            ".".join
        ),
        alg_none,
        wrong_kid,
        hs256,
        mangled,
    )


@fuzz_settings(EXAMPLES)
@given(data=st.data())
def test_fuzzed_id_tokens_are_refused_and_never_logged(
    cognito: Api, pool: UserPool, data: st.DataObject
) -> None:
    token = data.draw(fuzzed_tokens(pool), label="token")
    form = data.draw(st.sampled_from(["Bearer {}", "{}", "bearer  {}"]), label="form")
    body = assert_refused_and_unlogged(cognito, ("Authorization", wire_value(form.format(token))), token)
    assert body == UNAUTHORIZED


def test_a_valid_token_still_streams_and_is_never_logged(cognito: Api, pool: UserPool) -> None:
    token = pool.token(sub="fuzz-user")
    reply = cognito.send([("Authorization", f"Bearer {token}")])
    assert reply.status == 200 and b"event: done" in reply.body
    cognito.process.wait_for_log(r'"principal":"cognito:fuzz-user"')
    assert token not in cognito.process.log() and token.split(".")[2] not in cognito.process.log()
