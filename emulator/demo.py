"""`python -m emulator demo`: stream one prompt through the local function to the terminal, with stats."""

from __future__ import annotations

import dataclasses
import sys
from typing import TextIO

from emulator.config import EmulatorConfig
from emulator.local_lambda import Emulator
from stream_client import StreamClientError, StreamOptions, open_stream

# The stand-in's directives make the offline reply arrive like a real model's: 48 tokens, 40 ms apart.
DEFAULT_PROMPT = "Why does streaming matter for chat apps? @stub:tokens=48 @stub:delay-ms=40"


def run_demo(config: EmulatorConfig, prompt: str, *, out: TextIO, err: TextIO) -> int:
    """Start the emulator on a free port, stream `prompt`, print the text and the stats line; 0 on success."""
    emulator = Emulator(dataclasses.replace(config, port=0)).start()
    try:
        print(f"Function URL: {emulator.url} (runtime/bootstrap, bedrock_handler, offline Bedrock)", file=err)
        print(f"Prompt: {prompt}", file=err, flush=True)
        try:
            with open_stream(emulator.url, prompt, options=StreamOptions(sign=False)) as call:
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
    finally:
        emulator.close()


def main(config: EmulatorConfig, prompt: str | None) -> int:
    """Entry point used by `python -m emulator demo`; the runtime logs only warnings unless told otherwise,
    so its log lines do not interleave with the streamed text."""
    if not any(name == "AWS_LAMBDA_LOG_LEVEL" for name, _ in config.env):
        config = dataclasses.replace(config, env=(*config.env, ("AWS_LAMBDA_LOG_LEVEL", "WARN")))
    return run_demo(config, prompt or DEFAULT_PROMPT, out=sys.stdout, err=sys.stderr)
