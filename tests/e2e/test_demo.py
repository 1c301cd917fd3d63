"""`python -m emulator demo` (what `make demo` runs): the reply on stdout, the stats and `metrics:` lines
on stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from emulator.stub_replies import input_token_count, reply_tokens

ROOT = Path(__file__).resolve().parents[2]
STATS = re.compile(r"^ttfb_ms=(\d+\.\d) total_ms=(\d+\.\d) bytes=(\d+) output_tokens=(\d+) tokens_per_s=\S+$")
METRICS = re.compile(
    r"^metrics: 1 request \(1 ok\), (\d+) input / (\d+) output tokens, "
    r"first token p50 (\d+) ms p90 (\d+) ms, duration p50 (\d+) ms p90 (\d+) ms \(GET /_emulator/metrics\)$"
)


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # as a user runs it
    return subprocess.run(
        [sys.executable, "-m", "emulator", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_demo_streams_the_reply_and_prints_stats() -> None:
    result = run_demo("--prompt", "demo check @stub:tokens=9 @stub:delay-ms=20")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(reply_tokens("demo check", 9)) + "\n"
    stats = [m for line in result.stderr.splitlines() if (m := STATS.match(line))]
    assert len(stats) == 1, result.stderr
    ttfb_ms, total_ms, size, tokens = stats[0].groups()
    assert 0 < float(ttfb_ms) < float(total_ms)
    assert float(total_ms) >= 9 * 20 * 0.8  # nine deltas, 20 ms apart: the stats measure the stream
    assert int(tokens) == 9 and int(size) > len(result.stdout)  # SSE framing around the text
    assert "Function URL: http://127.0.0.1:" in result.stderr
    assert "START RequestId" not in result.stderr and "[INFO]" not in result.stderr  # quiet by default


def test_demo_prints_the_functions_metrics_after_the_stats() -> None:
    """One `metrics:` line, the last, from GET /_emulator/metrics; the EMF document itself stays out."""
    result = run_demo("--prompt", "metrics check here @stub:tokens=6 @stub:delay-ms=30")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert STATS.match(lines[-2]), result.stderr
    match = METRICS.match(lines[-1])
    assert match, result.stderr
    input_tokens, output_tokens, first_p50, first_p90, duration_p50, duration_p90 = map(int, match.groups())
    assert (input_tokens, output_tokens) == (input_token_count("metrics check here"), 6)
    assert first_p50 == first_p90 and duration_p50 == duration_p90  # one request: one value each
    assert first_p50 <= duration_p50 and duration_p50 >= 5 * 30 * 0.8  # the stream's pauses are in it
    assert '{"_aws"' not in result.stderr


def test_demo_reports_a_failed_stream() -> None:
    result = run_demo("--prompt", "demo @stub:throttle")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "demo failed:" in result.stderr and "throttl" in result.stderr.lower()
    assert result.stderr.splitlines()[-1].startswith(
        "metrics: 1 request (1 bedrock_throttled), 0 input / 0 output tokens, first token -, duration p50 "
    )
