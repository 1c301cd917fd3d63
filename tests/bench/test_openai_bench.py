"""The OpenAI benchmark's pure helpers: SSE frame reading, -X importtime parsing, pairing, the section when
the commit before the OpenAI layer is missing, `--only openai`. Nothing here is timed."""

from __future__ import annotations

import json

import pytest

from bench import __main__ as bench_main
from bench import openai_bench, openai_cold, openai_micro, task_roots
from bench.openai_path import (
    NATIVE,
    OPENAI,
    first_content,
    median_ci,
    native_text,
    openai_text,
    paired_differences,
    sse_frames,
)
from bench.results import render


def _chunk(delta: dict[str, object], *, choices: bool = True) -> bytes:
    document = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}] if choices else [],
    }
    return b"data: " + json.dumps(document).encode() + b"\n\n"


def test_sse_frames_give_each_frame_and_the_offset_past_its_blank_line() -> None:
    body = b"event: delta\ndata: {}\n\ndata: x\n\npartial"
    assert sse_frames(body) == [(23, b"event: delta\ndata: {}"), (32, b"data: x")]
    assert body[22:23] == b"\n" and body[31:32] == b"\n"


def test_native_frames_yield_delta_text_only() -> None:
    assert native_text(b'event: delta\ndata: {"text":"h\\u00e9"}') == "hé"
    assert native_text(b'event: done\ndata: {"stopReason":"end_turn"}') is None
    assert native_text(b'event: error\ndata: {"type":"x","message":"y"}') is None


def test_openai_frames_yield_non_empty_content_only() -> None:
    role = _chunk({"role": "assistant", "content": "", "refusal": None})
    assert openai_text(role[:-2]) is None
    assert openai_text(_chunk({"content": "hi"})[:-2]) == "hi"
    assert openai_text(_chunk({}, choices=False)[:-2]) is None  # the usage chunk
    assert openai_text(_chunk({})[:-2]) is None  # the finish chunk
    assert openai_text(b"data: [DONE]") is None


def test_first_content_is_the_last_byte_of_the_first_frame_with_text() -> None:
    role, first, second = (
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "a"}),
        _chunk({"content": " b"}),
    )
    body = role + first + second + b"data: [DONE]\n\n"
    index, text = first_content(body, openai_text)
    assert index == len(role) + len(first) - 1
    assert text == "a b"
    with pytest.raises(RuntimeError, match="no content"):
        first_content(b"data: [DONE]\n\n", openai_text)


def test_paired_differences_keep_rounds_together() -> None:
    assert paired_differences([3.0, 5.0], [1.0, 6.0]) == [2.0, -1.0]
    with pytest.raises(ValueError):
        paired_differences([1.0], [1.0, 2.0])


def test_median_ci_takes_the_binomial_order_statistics() -> None:
    # n = 10: P(B <= 1) = 0.011 <= 0.025 < P(B <= 2) = 0.055, so X(2)..X(9) (the textbook 97.9% interval).
    assert median_ci([float(v) for v in range(10, 0, -1)]) == (2.0, 9.0)
    # n = 150: P(B <= 62) = 0.020 <= 0.025 < P(B <= 63) = 0.030, so X(63)..X(88).
    assert median_ci([float(v) for v in range(1, 151)]) == (63.0, 88.0)
    assert median_ci([1.0, 2.0]) == (1.0, 2.0)  # too few samples for any cut: the whole range
    with pytest.raises(ValueError):
        median_ci([])


@pytest.mark.parametrize(
    ("low", "high", "verdict"), [(-0.1, 0.2, True), (0.21, 0.5, False), (0.1, 0.3, None)]
)
def test_a_verdict_only_when_the_interval_settles_it(low: float, high: float, verdict: bool | None) -> None:
    assert openai_bench.resolved(low, high, 0.2) is verdict


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   bedrock_handler.chat
import time:        80 |        200 | bedrock_handler
import time:      5000 |       5000 |     botocore.session
import time:       300 |       5300 |   bedrock_handler.model
import time:     16000 |     180000 | bedrock_handler.app
"""


def test_importtime_sums_the_handler_modules_apart_from_the_app() -> None:
    reading = openai_cold.parse_importtime(IMPORTTIME)
    assert reading == openai_cold.HandlerImport(
        own_us=500, modules=4, app_cumulative_us=180000, others=frozenset({"botocore.session"})
    )


def test_importtime_without_the_app_line_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"bedrock_handler\.app"):
        openai_cold.parse_importtime(IMPORTTIME.rsplit("\n", 2)[0])


def test_cold_section_says_why_it_was_skipped() -> None:
    section = openai_bench.cold_section(None)
    assert not section.rows
    assert openai_cold.PRE_OPENAI_COMMIT in render([section])


def test_an_unknown_commit_is_reported_unavailable() -> None:
    assert task_roots.commit_available("0" * 40) is None


def test_only_accepts_the_module_name_with_or_without_its_suffix() -> None:
    assert "openai" in bench_main._short_names("bench.openai_bench")
    assert "openai_bench" in bench_main._short_names("bench.openai_bench")
    assert "bench.openai_bench" in bench_main.MODULES


def test_the_handler_microbenchmark_checks_both_replies() -> None:
    """Two real invocations per API through bedrock_handler.invocation.respond (the reply is checked
    inside measure()); only the sample count is asserted, never a time."""
    samples = openai_micro.measure(3, iterations=2, warm_up=1)
    assert {api: len(values) for api, values in samples.items()} == {NATIVE: 2, OPENAI: 2}


@pytest.mark.slow  # pip installs the packages on the first run, then cached in bench/out/.task_roots
def test_the_root_before_the_openai_layer_holds_that_commits_handler() -> None:
    """The `before` contender really runs the old handler on the image root's very packages."""
    commit = task_roots.commit_available(openai_cold.PRE_OPENAI_COMMIT)
    if commit is None:
        pytest.skip("no git history with the commit before the OpenAI layer")
    roots = task_roots.prepare_at_commit(task_roots.prepare(), commit, openai_cold.PRE_OPENAI)
    image, before = roots.root("image"), roots.root(openai_cold.PRE_OPENAI)
    assert (image / "bedrock_handler" / "openai_request.py").is_file()
    assert not (before / "bedrock_handler" / "openai_request.py").exists()
    assert (before / "bedrock_handler" / "request.py").is_file()  # the old module layout
    assert list((before / "bedrock_handler" / "__pycache__").glob("request.*.pyc"))  # compiled
    assert (before / "bootstrap").stat().st_mode & 0o111
    botocore_init = "botocore/__init__.py"
    assert (before / botocore_init).stat().st_ino == (image / botocore_init).stat().st_ino
