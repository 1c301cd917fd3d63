"""The chat page in headless Debian Chromium (Playwright) against a real emulator: tokens show early, the
conversation is kept and resent, reasoning is shown apart, images are attached or refused."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.bedrock_stub import BedrockStub, StubRequest
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess
from tests.support.rest_api import RestApiProcess, write_key_file

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WAIT_MS = 60_000
MAX_IMAGE_BYTES = 3_932_160  # 3.75 MB, Bedrock's limit for one image
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium missing (tests/install_browser.sh)"),
]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[BedrockStub]:
    """A Bedrock stand-in in this process, so a test can read what the function sent to the model."""
    with BedrockStub.start() as stub:
        yield stub


@pytest.fixture(scope="module")
def url(stand_in: BedrockStub) -> Iterator[str]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    # --env wins over the emulator's own stand-in.
    args = ["--env", f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stand_in.url}"]
    with EmulatorProcess(args, env=env) as emulator:
        yield emulator.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        page = context.new_page()
        page.goto(url + "_emulator/", timeout=WAIT_MS)
        yield page
    finally:
        context.close()


# --- driving the page --------------------------------------------------------------------------------


def submit(page: Any, prompt: str) -> None:
    page.fill("#prompt", prompt)
    page.click("#send")


def wait_state(page: Any, panel: str, states: str) -> str:
    page.wait_for_function(
        f"{states.split('|')!r}.includes(document.getElementById('{panel}-state').dataset.state)",
        timeout=WAIT_MS,
    )
    return str(page.eval_on_selector(f"#{panel}-state", "e => e.dataset.state"))


def send(page: Any, prompt: str) -> None:
    """Send `prompt` and wait until the page has shown its turns and is idle again."""
    before = page.evaluate("document.querySelectorAll('#conversation .turn').length")
    submit(page, prompt)
    page.wait_for_function(
        f"document.querySelectorAll('#conversation .turn').length > {before}"
        " && document.body.dataset.busy === 'false'",
        timeout=WAIT_MS,
    )


def reply(page: Any, prompt: str) -> str:
    """Send `prompt`; the streamed reply must end cleanly. The answer the page shows for it."""
    send(page, prompt)
    assert page.eval_on_selector("#stream-state", "e => e.dataset.state") == "done", page.text_content(
        "#stream-error"
    )
    return last_answer(page)


def last_answer(page: Any) -> str:
    answers = page.eval_on_selector_all(
        "#conversation .turn.assistant .answer", "els => els.map(e => e.textContent)"
    )
    return str(answers[-1]) if answers else ""


def shown_turns(page: Any) -> list[tuple[str, str]]:
    """The conversation as shown: (role, text) per turn, the answer text for assistant turns."""
    turns = page.eval_on_selector_all(
        "#conversation .turn",
        "els => els.map(e => [e.dataset.role,"
        " e.querySelector(e.dataset.role === 'user' ? '.text' : '.answer').textContent])",
    )
    return [(role, text) for role, text in turns]


def sent_request(page: Any) -> dict[str, Any]:
    """The native API body of the page's latest streamed request."""
    request = page.evaluate("window.chatTrace.stream.request")
    assert isinstance(request, dict)
    return request


def text_turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"text": text}]}


def model_calls(stand_in: BedrockStub, marker: str) -> list[StubRequest]:
    """The ConverseStream calls whose last message contains `marker`, oldest first."""
    return [
        call
        for call in stand_in.requests
        if call.operation == "converse-stream" and marker in " ".join(texts(call.body["messages"][-1]))
    ]


def texts(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    if isinstance(content, str):
        return [content]
    return [block["text"] for block in content if "text" in block]


def png_image(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, red) PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def attach(page: Any, name: str, mime_type: str, data: bytes) -> None:
    page.set_input_files("#image", files=[{"name": name, "mimeType": mime_type, "buffer": data}])


def wait_attached_or_refused(page: Any) -> None:
    page.wait_for_function(
        "!document.getElementById('attachment').hidden"
        " || document.getElementById('composer-error').textContent !== ''",
        timeout=WAIT_MS,
    )


# --- streaming and the buffered comparison -----------------------------------------------------------


def test_tokens_appear_before_the_stream_ends(page: Any, tmp_path: Path) -> None:
    submit(page, "tell me a story @stub:delay-ms=80 @stub:tokens=15")
    page.wait_for_function(
        "document.querySelector('#conversation .turn.assistant .answer')?.textContent.length > 0",
        timeout=WAIT_MS,
    )
    early_text = last_answer(page)
    assert wait_state(page, "stream", "done|error") == "done", page.text_content("#stream-error")
    final_text = last_answer(page)
    trace = page.evaluate("window.chatTrace.stream")
    # The page saw text while its own state was still "streaming", and well before the end
    # (14 more tokens at 80 ms follow the first; the bound is loose for a busy machine).
    assert trace["stateAtFirstText"] == "streaming"
    assert trace["endAt"] - trace["firstTextAt"] > 500
    assert early_text and len(early_text) < len(final_text)
    assert trace["pieces"] == 15
    assert trace["reasoningPieces"] == 0
    assert page.text_content("#stream-tokens") == "15"
    for stat in ("ttfb", "ttft", "total"):
        assert page.text_content(f"#stream-{stat}").endswith(" ms")
    assert float(page.text_content("#stream-tps")) > 0
    # No reasoning was asked for: the turn shows no reasoning element and the request carries no field.
    assert page.eval_on_selector("#conversation .turn.assistant details.reasoning", "e => e.hidden") is True
    assert "reasoning" not in sent_request(page)
    screenshot = tmp_path / "chat-streaming.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 1000


def test_buffered_comparison_waits_for_everything(page: Any, tmp_path: Path) -> None:
    page.check("#compare")
    submit(page, "compare @stub:delay-ms=60 @stub:tokens=10")
    assert wait_state(page, "buffered", "done|error") == "done", page.text_content("#buffered-error")
    streamed = page.evaluate("window.chatTrace.stream")
    buffered = page.evaluate("window.chatTrace.buffered")
    assert page.text_content("#buffered-answer") == last_answer(page) != ""
    assert buffered["request"] == streamed["request"]
    # Buffered: nothing arrives until generation (9 gaps of 60 ms) is over; streamed: the first token early.
    assert buffered["firstByteAt"] - buffered["start"] > 400
    assert streamed["endAt"] - streamed["firstTextAt"] > 400
    page.screenshot(path=str(tmp_path / "chat-compare.png"), full_page=True)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("@stub:throttle", "HTTP 429"),
        ("fails @stub:tokens=5 @stub:error-after=2", "modelStreamErrorException"),
    ],
)
def test_errors_are_shown(page: Any, prompt: str, expected: str) -> None:
    submit(page, prompt)
    assert wait_state(page, "stream", "done|error") == "error"
    assert expected in page.text_content("#stream-error")


# --- the conversation --------------------------------------------------------------------------------


def test_each_request_carries_the_whole_conversation(page: Any, stand_in: BedrockStub) -> None:
    first_prompt = "history one @stub:tokens=5"
    second_prompt = "history two @stub:tokens=3"
    first = reply(page, first_prompt)
    second = reply(page, second_prompt)
    assert len(first.split()) == 5 and len(second.split()) == 3
    assert shown_turns(page) == [
        ("user", first_prompt),
        ("assistant", first),
        ("user", second_prompt),
        ("assistant", second),
    ]
    expected = [
        text_turn("user", first_prompt),
        text_turn("assistant", first),
        text_turn("user", second_prompt),
    ]
    assert sent_request(page)["messages"] == expected
    assert page.evaluate("window.chatState.messages") == [*expected, text_turn("assistant", second)]
    # What reached the model: the first answer as the assistant turn between the two questions.
    (call,) = model_calls(stand_in, "history two")
    assert [(m["role"], texts(m)) for m in call.body["messages"]] == [
        ("user", [first_prompt]),
        ("assistant", [first]),
        ("user", [second_prompt]),
    ]


def test_new_chat_clears_the_conversation(page: Any, stand_in: BedrockStub) -> None:
    reply(page, "before the reset @stub:tokens=4")
    reply(page, "still before @stub:tokens=2")
    assert len(shown_turns(page)) == 4
    page.click("#new-chat")
    assert shown_turns(page) == []
    assert page.evaluate("window.chatState.messages") == []
    assert page.is_visible("#conversation-empty")
    assert page.eval_on_selector("#stream-state", "e => e.dataset.state") == "idle"
    after = reply(page, "after the reset @stub:tokens=2")
    assert shown_turns(page) == [("user", "after the reset @stub:tokens=2"), ("assistant", after)]
    assert sent_request(page)["messages"] == [text_turn("user", "after the reset @stub:tokens=2")]
    (call,) = model_calls(stand_in, "after the reset")
    assert [m["role"] for m in call.body["messages"]] == ["user"]


def test_a_failed_reply_is_not_kept(page: Any, stand_in: BedrockStub) -> None:
    kept = reply(page, "kept question @stub:tokens=3")
    send(page, "lost question @stub:throttle")
    assert page.eval_on_selector("#stream-state", "e => e.dataset.state") == "error"
    note = page.text_content("#conversation .turn.assistant.dropped .note")
    assert "not part of the conversation" in note.lower()
    # The failed prompt is back in the box, to retry or edit.
    assert page.input_value("#prompt") == "lost question @stub:throttle"
    reply(page, "next question @stub:tokens=2")
    assert sent_request(page)["messages"] == [
        text_turn("user", "kept question @stub:tokens=3"),
        text_turn("assistant", kept),
        text_turn("user", "next question @stub:tokens=2"),
    ]
    (call,) = model_calls(stand_in, "next question")
    assert len(call.body["messages"]) == 3


# --- reasoning (needs the handler's `reasoning` field and events) -------------------------------------


def test_reasoning_is_shown_apart_and_collapsible(page: Any, stand_in: BedrockStub) -> None:
    page.select_option("#reasoning", "medium")
    page.fill("#max-tokens", "4096")  # Claude's thinking budget must stay under the token limit
    answer = reply(page, "think first @stub:reasoning=4 @stub:tokens=3")
    assert sent_request(page)["reasoning"] == "medium"
    assert sent_request(page)["maxTokens"] == 4096
    trace = page.evaluate("window.chatTrace.stream")
    assert trace["reasoningPieces"] == 4
    assert trace["pieces"] == 3
    assert trace["firstReasoningAt"] < trace["firstTextAt"]
    details = "#conversation .turn.assistant details.reasoning"
    assert page.eval_on_selector(details, "e => e.hidden") is False
    assert page.eval_on_selector(details, "e => e.open") is False  # collapsed until asked for
    reasoning = page.text_content(f"{details} .reasoning-text")
    assert reasoning.strip()
    assert len(answer.split()) == 3
    assert reasoning not in answer and answer not in reasoning
    assert not page.is_visible(f"{details} .reasoning-text")
    page.click(f"{details} summary")
    assert page.eval_on_selector(details, "e => e.open") is True
    assert page.is_visible(f"{details} .reasoning-text")
    (call,) = model_calls(stand_in, "think first")
    assert "thinking" in call.body.get("additionalModelRequestFields", {})
    # The next request carries the answer only, never the reasoning.
    reply(page, "and then @stub:tokens=2")
    assert sent_request(page)["messages"][1] == text_turn("assistant", answer)
    (call,) = model_calls(stand_in, "and then")
    assert texts(call.body["messages"][1]) == [answer]


# --- image attachments (the image reaching the model needs the handler's image blocks) ----------------


def test_an_attached_image_reaches_the_model(page: Any, stand_in: BedrockStub) -> None:
    image = png_image()
    encoded = base64.b64encode(image).decode("ascii")
    attach(page, "dot.png", "image/png", image)
    wait_attached_or_refused(page)
    assert page.text_content("#composer-error") == ""
    assert "dot.png" in page.text_content("#attachment-name")
    prompt = "what is in the picture @stub:tokens=3"
    answer = reply(page, prompt)
    # The user turn shows the image; the composer is empty again.
    alt = page.eval_on_selector("#conversation .turn.user figure.attachment img", "e => e.alt")
    assert "dot.png" in alt
    assert page.eval_on_selector("#conversation .turn.user figure.attachment img", "e => e.naturalWidth") == 3
    assert page.is_hidden("#attachment")
    image_block = {"image": {"format": "png", "source": {"bytes": encoded}}}
    assert sent_request(page)["messages"] == [{"role": "user", "content": [image_block, {"text": prompt}]}]
    (call,) = model_calls(stand_in, "what is in the picture")
    assert call.body["messages"][0]["content"][0] == image_block
    assert answer.startswith(f"[image:png:{len(image)}]")
    # Later requests keep the image in its user turn, so the model still sees it.
    reply(page, "and its colour @stub:tokens=2")
    messages = sent_request(page)["messages"]
    assert messages[0]["content"] == [image_block, {"text": prompt}]
    assert messages[2] == text_turn("user", "and its colour @stub:tokens=2")


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (("notes.txt", "text/plain", b"just some text\n"), "only PNG, JPEG, GIF or WebP"),
        (("drawing.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "only PNG, JPEG"),
        (("fake.png", "image/png", b"this is not a png at all"), "not a valid PNG, JPEG, GIF or WebP"),
        (("huge.png", "image/png", PNG_SIGNATURE + bytes(MAX_IMAGE_BYTES + 1 - 8)), "over the 3.75 MB"),
    ],
    ids=["text", "svg", "fake-png", "too-large"],
)
def test_a_bad_file_is_refused_on_the_page(
    page: Any, stand_in: BedrockStub, file: tuple[str, str, bytes], expected: str
) -> None:
    name, mime_type, data = file
    attach(page, name, mime_type, data)
    wait_attached_or_refused(page)
    assert page.is_visible("#composer-error")
    message = page.text_content("#composer-error")
    assert name in message and expected in message
    assert page.is_hidden("#attachment")
    assert page.input_value("#image") == ""
    assert page.evaluate("window.chatState.attachment") is None
    # A message sent now carries no image.
    marker = f"after refusing {name}"
    reply(page, f"{marker} @stub:tokens=2")
    assert sent_request(page)["messages"] == [text_turn("user", f"{marker} @stub:tokens=2")]
    (call,) = model_calls(stand_in, marker)
    assert [list(block) for block in call.body["messages"][0]["content"]] == [["text"]]


def test_an_image_of_exactly_the_limit_is_accepted(page: Any) -> None:
    attach(page, "limit.png", "image/png", PNG_SIGNATURE + bytes(MAX_IMAGE_BYTES - 8))
    wait_attached_or_refused(page)
    assert page.text_content("#composer-error") == ""
    assert page.evaluate("window.chatState.attachment") == {
        "name": "limit.png",
        "format": "png",
        "size": MAX_IMAGE_BYTES,
    }
    page.click("#attachment-remove")
    assert page.is_hidden("#attachment")
    assert page.evaluate("window.chatState.attachment") is None


# --- behind the emulated REST API, with a key ----------------------------------------------------------

REST_KEY = "sk-browser-0123456789abcdefgh"


def test_the_page_works_behind_the_rest_api_with_a_key(
    browser: Any, stand_in: BedrockStub, tmp_path: Path
) -> None:
    keys = write_key_file(tmp_path, [{"name": "browser", "value": REST_KEY}])
    args = ["--api-keys", str(keys), "--env", f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stand_in.url}"]
    with RestApiProcess(args) as api:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        try:
            page = context.new_page()
            page.goto(api.root + "_emulator/", timeout=WAIT_MS)
            assert page.input_value("#endpoint") == "/prod/"  # the page knows the API's base
            # No key: API Gateway's own 401, shown on the page; the function never ran.
            submit(page, "no key @stub:tokens=3")
            assert wait_state(page, "stream", "done|error") == "error"
            assert "HTTP 401: unauthorized: Unauthorized" in page.text_content("#stream-error")
            page.fill("#auth", "sk-wrong-0123456789abcdefghi")
            submit(page, "wrong key @stub:tokens=3")
            page.wait_for_function(
                "document.getElementById('stream-error').textContent.includes('403')", timeout=WAIT_MS
            )
            assert "HTTP 403: invalid_api_key: Forbidden" in page.text_content("#stream-error")
            assert model_calls(stand_in, "no key") == model_calls(stand_in, "wrong key") == []
            page.fill("#auth", REST_KEY)
            page.check("#compare")  # the buffered twin goes through the REST API too
            answer = reply(page, "with a key @stub:tokens=4")
            assert len(answer.split()) == 4
            assert wait_state(page, "buffered", "done|error") == "done", page.text_content("#buffered-error")
            assert page.text_content("#buffered-answer") == answer
            assert len(model_calls(stand_in, "with a key")) == 2
            api.wait_for_log('"door":"rest-api"')  # the invocation line can trail the reply
            assert REST_KEY not in api.log()
        finally:
            context.close()
