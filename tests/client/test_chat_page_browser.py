"""The chat page in headless Debian Chromium (Playwright) against a real emulator: tokens show early."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium missing (tests/install_browser.sh)"),
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(env=env) as emulator:
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


def submit(page: Any, prompt: str) -> None:
    page.fill("#prompt", prompt)
    page.click("#send")


def wait_state(page: Any, panel: str, states: str) -> str:
    page.wait_for_function(
        f"{states.split('|')!r}.includes(document.getElementById('{panel}-state').dataset.state)",
        timeout=WAIT_MS,
    )
    return str(page.eval_on_selector(f"#{panel}-state", "e => e.dataset.state"))


def test_tokens_appear_before_the_stream_ends(page: Any, tmp_path: Path) -> None:
    submit(page, "tell me a story @stub:delay-ms=80 @stub:tokens=15")
    page.wait_for_function("document.getElementById('stream-answer').textContent.length > 0", timeout=WAIT_MS)
    early_text = page.text_content("#stream-answer")
    assert wait_state(page, "stream", "done|error") == "done", page.text_content("#stream-error")
    final_text = page.text_content("#stream-answer")
    trace = page.evaluate("window.chatTrace.stream")
    # The page saw text while its own state was still "streaming", and well before the end
    # (14 more tokens at 80 ms follow the first; the bound is loose for a busy machine).
    assert trace["stateAtFirstText"] == "streaming"
    assert trace["endAt"] - trace["firstTextAt"] > 500
    assert early_text and len(early_text) < len(final_text)
    assert trace["pieces"] == 15
    assert page.text_content("#stream-tokens") == "15"
    for stat in ("ttfb", "ttft", "total"):
        assert page.text_content(f"#stream-{stat}").endswith(" ms")
    assert float(page.text_content("#stream-tps")) > 0
    screenshot = tmp_path / "chat-streaming.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 1000


def test_buffered_comparison_waits_for_everything(page: Any, tmp_path: Path) -> None:
    page.check("#compare")
    submit(page, "compare @stub:delay-ms=60 @stub:tokens=10")
    assert wait_state(page, "buffered", "done|error") == "done", page.text_content("#buffered-error")
    streamed = page.evaluate("window.chatTrace.stream")
    buffered = page.evaluate("window.chatTrace.buffered")
    assert page.text_content("#buffered-answer") == page.text_content("#stream-answer") != ""
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
