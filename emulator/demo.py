"""`python -m emulator demo`: stream one prompt through the local function to the terminal, with stats
and the function's own metrics."""

from __future__ import annotations

import dataclasses
import http.client
import json
import sys
import time
import urllib.parse
from typing import Any, TextIO

from emulator.config import EmulatorConfig
from emulator.local_lambda import Emulator
from emulator.metrics_summary import summary_line
from stream_client import StreamClientError, StreamOptions, open_stream

# The stand-in's directives make the offline reply arrive like a real model's: 48 tokens, 40 ms apart.
DEFAULT_PROMPT = "Why does streaming matter for chat apps? @stub:tokens=48 @stub:delay-ms=40"
# How long the function's metrics document may trail the end of its stream (it passes the log reader).
METRICS_WAIT_S = 2.0


def run_demo(config: EmulatorConfig, prompt: str, *, out: TextIO, err: TextIO) -> int:
    """Start the emulator on a free port, stream `prompt`, print the text, the stats line and the
    `metrics:` line; 0 on success. The EMF document itself stays out of the terminal: the line sums it up."""
    emulator = Emulator(dataclasses.replace(config, port=0), log_documents=False).start()
    try:
        status = _stream(emulator.url, prompt, out=out, err=err)
        print(summary_line(fetch_metrics(emulator.url, documents=1)), file=err, flush=True)
        return status
    finally:
        emulator.close()


def _stream(url: str, prompt: str, *, out: TextIO, err: TextIO) -> int:
    """Stream `prompt` from the function at `url` to `out`, the stats line to `err`; the exit status."""
    print(f"Function URL: {url} (runtime/bootstrap, bedrock_handler, offline Bedrock)", file=err)
    print(f"Prompt: {prompt}", file=err, flush=True)
    try:
        with open_stream(url, prompt, options=StreamOptions(sign=False)) as call:
            for piece in call:
                out.write(piece)
                out.flush()
    except StreamClientError as exc:
        print(f"\ndemo failed: {exc}", file=err)
        return exc.exit_code
    out.write("\n")
    out.flush()
    print(call.result.stats.line(), file=err, flush=True)
    return 0 if call.result.complete else 3


def fetch_metrics(url: str, *, documents: int, wait_s: float = METRICS_WAIT_S) -> dict[str, Any]:
    """`GET /_emulator/metrics` of the emulator at `url`, once it has counted `documents` documents (valid
    or not) or after `wait_s` seconds."""
    address = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + wait_s
    while True:
        # http.client, not urllib.request: no HTTP_PROXY setting may send this local request elsewhere.
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=5)
        try:
            connection.request("GET", "/_emulator/metrics")
            summary: dict[str, Any] = json.load(connection.getresponse())
        finally:
            connection.close()
        if summary["documents"] + summary["invalid"] >= documents or time.monotonic() >= deadline:
            return summary
        time.sleep(0.02)


def main(config: EmulatorConfig, prompt: str | None) -> int:
    """Entry point used by `python -m emulator demo`; the runtime logs only warnings unless told otherwise,
    so its log lines do not interleave with the streamed text."""
    if not any(name == "AWS_LAMBDA_LOG_LEVEL" for name, _ in config.env):
        config = dataclasses.replace(config, env=(*config.env, ("AWS_LAMBDA_LOG_LEVEL", "WARN")))
    return run_demo(config, prompt or DEFAULT_PROMPT, out=sys.stdout, err=sys.stderr)
