"""The client (CLI subprocess and importable API) against a real emulator, runtime and handler."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

import stream_client
from stream_client import HttpStatusError, InBandError, StreamOptions, TruncatedStreamError, open_stream
from tests.client.cli_runner import run_cli
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(env=env) as emulator:
        yield emulator.url


def test_cli_sse_default(url: str) -> None:
    done = run_cli(url, "hello there @stub:tokens=5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    stats = done.stderr.strip().splitlines()[-1]
    assert stats.startswith("ttfb_ms=") and " output_tokens=5 " in stats, stats
    assert "bytes=0" not in stats


def test_same_text_in_every_format(url: str) -> None:
    prompt = "formats agree @stub:tokens=6"
    texts = {fmt: run_cli(url, prompt, "--format", fmt) for fmt in ("sse", "ndjson", "text")}
    assert {fmt: done.returncode for fmt, done in texts.items()} == {"sse": 0, "ndjson": 0, "text": 0}
    assert texts["sse"].stdout == texts["ndjson"].stdout == texts["text"].stdout != ""
    assert "output_tokens=6 " in texts["ndjson"].stderr
    # Raw text carries no done event, so the token count is unknown.
    assert "output_tokens=- " in texts["text"].stderr


def test_cli_stdin_prompt_and_json_summary(url: str) -> None:
    done = run_cli(url, "-", "--json", stdin="from stdin @stub:tokens=4")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and summary["complete"] is True
    assert summary["stats"]["output_tokens"] == 4 and summary["stats"]["status"] == 200
    assert summary["text"] and summary["stop_reason"]
    piped = run_cli(url, stdin="from stdin @stub:tokens=4")
    assert piped.returncode == 0 and piped.stdout == summary["text"]


@pytest.mark.parametrize(("directive", "status"), [("@stub:throttle", 429), ("@stub:access-denied", 502)])
def test_cli_http_error_exit_1(url: str, directive: str, status: int) -> None:
    done = run_cli(url, f"fail {directive}")
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line.startswith(f"python -m stream_client: HTTP {status}: ") and "\n" not in line
    assert len(line) > len(f"python -m stream_client: HTTP {status}: ")


def test_cli_drop_after_is_truncated_exit_3(url: str) -> None:
    done = run_cli(url, "drop me @stub:tokens=8 @stub:drop-after=3")
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stdout  # the three tokens before the drop were printed
    assert "python -m stream_client: " in done.stderr


@pytest.mark.parametrize("fmt", ["sse", "ndjson"])
def test_api_in_band_error(url: str, fmt: str) -> None:
    pieces: list[str] = []
    with pytest.raises(InBandError) as info:
        pieces.extend(stream_client.stream(url, "boom @stub:tokens=6 @stub:error-after=2", format=fmt))
    assert len(pieces) == 2
    # The handler names the Bedrock exception; both formats carry it the same way.
    assert info.value.error_type == "modelStreamErrorException"
    assert "failed mid-stream" in info.value.message


def test_api_truncation_keeps_partial_result(url: str) -> None:
    call = open_stream(url, "drop @stub:tokens=8 @stub:drop-after=3", options=StreamOptions(format="ndjson"))
    with call, pytest.raises(TruncatedStreamError):
        list(call)
    assert call.result.text and not call.result.complete


def test_api_http_error(url: str) -> None:
    with pytest.raises(HttpStatusError) as info:
        list(stream_client.stream(url, "slow down @stub:throttle"))
    assert info.value.status == 429 and info.value.message


def test_api_pieces_arrive_spread_out(url: str) -> None:
    # 10 deltas 100 ms apart: the first must be in hand long before the last (bounds are generous).
    started = time.monotonic()
    arrivals = [
        time.monotonic() - started
        for _ in stream_client.stream(url, "spread @stub:tokens=10 @stub:delay-ms=100")
    ]
    assert len(arrivals) >= 5
    assert arrivals[-1] - arrivals[0] > 0.5


def test_api_result_and_options(url: str) -> None:
    with open_stream(
        url, "options @stub:tokens=3", options=StreamOptions(max_tokens=50, system="terse")
    ) as call:
        text = "".join(call)
    result = call.result
    assert result.complete and result.text == text
    assert result.stats.output_tokens == 3 and result.stats.tokens_per_s is not None
    assert result.stats.ttfb_ms is not None and result.stats.ttfb_ms <= result.stats.total_ms
    assert result.model_id
