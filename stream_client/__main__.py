"""Command line: `python -m stream_client URL [PROMPT | -] [options]` streams the answer to stdout;
`python -m stream_client smoke URL [options]` smoke-tests a deployment (stream_client/smoke.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from stream_client import smoke
from stream_client.client import StreamCall, StreamOptions, StreamResult, open_stream
from stream_client.errors import HttpStatusError, StreamClientError, TruncatedStreamError, UsageError
from stream_client.formats import FORMATS

PROG = "python -m stream_client"

EPILOG = """\
exit codes: 0 complete; 1 HTTP error status or no response; 2 usage error or no AWS credentials for a
signed URL; 3 the stream ended or broke without the final done event (truncated, or an in-band error).

smoke-test a deployment: python -m stream_client smoke URL [options] (its options: smoke --help)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Stream a prompt's answer from a Bedrock streaming Function URL as it arrives.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", metavar="URL", help="the Function URL (or the local emulator's URL)")
    parser.add_argument(
        "prompt", metavar="PROMPT", nargs="?", help="the prompt; '-' or omitted with piped stdin: read stdin"
    )
    parser.add_argument(
        "--model", metavar="ID", help="Bedrock model id (must be in the function's allow-list)"
    )
    parser.add_argument("--system", metavar="TEXT", help="system prompt")
    parser.add_argument("--max-tokens", metavar="N", type=int, help="maximum output tokens")
    parser.add_argument("--temperature", metavar="T", type=float, help="sampling temperature")
    parser.add_argument(
        "--format", choices=FORMATS, default="sse", help="response format to request (default: sse)"
    )
    parser.add_argument("--region", metavar="R", help="SigV4 region (default: from the lambda-url host)")
    sign = parser.add_mutually_exclusive_group()
    sign.add_argument("--sign", dest="sign", action="store_true", default=None, help="always sign (SigV4)")
    sign.add_argument("--no-sign", dest="sign", action="store_false", help="never sign (auth NONE URLs)")
    bearer = parser.add_mutually_exclusive_group()
    bearer.add_argument(
        "--api-key",
        metavar="KEY",
        dest="bearer",
        help="REST API key, sent as 'Authorization: Bearer KEY' (no SigV4 signing)",
    )
    bearer.add_argument(
        "--bearer",
        metavar="TOKEN",
        dest="bearer",
        help="bearer token (a Cognito ID token), sent as 'Authorization: Bearer TOKEN' (no SigV4 signing)",
    )
    parser.add_argument("--profile", metavar="NAME", help="AWS profile for signing (default: standard chain)")
    parser.add_argument(
        "--timeout", metavar="SECONDS", type=float, default=300.0, help="max wait for any byte (default: 300)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON summary to stdout instead of text"
    )
    return parser


def main(
    argv: list[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [smoke.COMMAND]:
        return smoke.main(argv[1:], stdout=stdout, stderr=stderr)
    args = build_parser().parse_args(argv)
    try:
        prompt = _read_prompt(args.prompt, stdin)
        options = StreamOptions(
            model=args.model,
            system=args.system,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            format=args.format,
            region=args.region,
            sign=args.sign,
            profile=args.profile,
            timeout=args.timeout,
            bearer=args.bearer,
        )
        call = open_stream(args.url, prompt, options=options)
    except StreamClientError as exc:
        return _report(exc, None, as_json=args.json, stdout=stdout, stderr=stderr)
    error = _print_stream(call, echo=None if args.json else stdout)
    result = call.result
    if not args.json and stdout.isatty() and result.text and not result.text.endswith("\n"):
        stdout.write("\n")
    return _report(error, result, as_json=args.json, stdout=stdout, stderr=stderr)


def _read_prompt(prompt: str | None, stdin: TextIO) -> str:
    if prompt == "-" or (prompt is None and not stdin.isatty()):
        return stdin.read()
    if prompt is None:
        raise UsageError("no PROMPT given (pass it as an argument, or '-' to read stdin)")
    return prompt


def _print_stream(call: StreamCall, *, echo: TextIO | None) -> TruncatedStreamError | None:
    with call:
        try:
            for piece in call:
                if echo is not None:
                    # One write and flush per piece, so each token shows the moment it arrives.
                    echo.write(piece)
                    echo.flush()
        except TruncatedStreamError as exc:
            return exc
    return None


def _report(
    error: StreamClientError | None,
    result: StreamResult | None,
    *,
    as_json: bool,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    exit_code = error.exit_code if error is not None else 0
    if as_json:
        stdout.write(json.dumps(_summary(error, result, exit_code), ensure_ascii=False) + "\n")
        stdout.flush()
        return exit_code
    if error is not None:
        stderr.write(f"{PROG}: {_one_line(error)}\n")
    if result is not None:
        stderr.write(result.stats.line() + "\n")
    stderr.flush()
    return exit_code


def _one_line(error: StreamClientError) -> str:
    if isinstance(error, HttpStatusError):
        return f"HTTP {error.status}: {error.message}"
    return " ".join(str(error).split())


def _summary(error: StreamClientError | None, result: StreamResult | None, exit_code: int) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "ok": error is None,
        "exit_code": exit_code,
        "text": result.text if result else None,
        "complete": result.complete if result else False,
        "stop_reason": result.stop_reason if result else None,
        "model_id": result.model_id if result else None,
        "stats": result.stats.to_json() if result else None,
        "error": None,
    }
    if error is not None:
        summary["error"] = {
            "kind": type(error).__name__,
            "type": getattr(error, "error_type", None),
            "status": getattr(error, "status", None),
            "message": getattr(error, "message", None) or _one_line(error),
        }
    return summary


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
