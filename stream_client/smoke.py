"""`python -m stream_client smoke URL`: a short, bounded, read-only smoke test of a deployed (or local)
endpoint, at most 8 small requests, printed as one PASS, FAIL, SKIP or INFO line per check.

Checks, in order: the native API streams SSE incrementally and ends with `done` and usage; an OpenAI chat
stream ends with `data: [DONE]` after a usage chunk; a malformed body gets a 4xx in the JSON error shape;
`GET /v1/models` lists models; the function wrote one EMF metrics document per request that reached it
(the local emulator's `/_emulator/metrics`, or the function's CloudWatch log group with `--log-group`);
and two open questions of PROTOCOL.md §11.9, reported, never failed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import TextIO

from stream_client import smoke_checks, smoke_logs, smoke_metrics
from stream_client.client import StreamOptions, prepare_request
from stream_client.errors import StreamClientError
from stream_client.smoke_checks import Tokens
from stream_client.smoke_http import MAX_REQUESTS, SmokeHttp
from stream_client.smoke_report import Check, Report
from stream_client.smoke_target import Target, build_auth

COMMAND = "smoke"  # the first argument that selects the smoke test over streaming a prompt
PROG = f"python -m stream_client {COMMAND}"
COUNT_PROMPT = "Count from 1 to 20, one number per line, nothing else."
CHAT_PROMPT = "Reply with the single word: ready"
# The local emulator's offline stand-in strips these words and paces its reply as a model would.
LOCAL_COUNT_DIRECTIVES = " @stub:tokens=20 @stub:delay-ms=10"
LOCAL_CHAT_DIRECTIVES = " @stub:tokens=3"
DEFAULT_MAX_TOKENS = 64
MAX_TOKENS_LIMIT = 256
CHAT_MAX_TOKENS = 16
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_LOG_WAIT_S = 60.0
MAX_LOG_WAIT_S = 300.0
DEFAULT_NAMESPACE = "BedrockStreaming"
PRE_PRELUDE = (
    "PROTOCOL.md §11.9 #1, not observable read-only: every failure a harmless request can cause is either "
    "answered by the handler with a status in its prelude (as the bad request was) or refused in front of "
    "the function (auth, throttling, Lambda's 6 MB payload limit); what a client sees when the function "
    "itself fails or times out before its prelude needs a deployment made to fail"
)


@dataclass(frozen=True, slots=True)
class SmokeConfig:
    """One smoke test's settings (the command's options)."""

    url: str
    model: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    sign: bool | None = None
    bearer: str | None = field(default=None, repr=False)  # a secret: never in a repr or the report
    profile: str | None = None
    region: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    log_group: str | None = None
    log_wait_s: float = DEFAULT_LOG_WAIT_S
    namespace: str = DEFAULT_NAMESPACE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Smoke-test a deployed (or local) endpoint: at most 8 small requests, one report line "
        "per check. Exit status 0 when no check failed, 1 when one did, 2 on a usage error.",
    )
    parser.add_argument(
        "url", metavar="URL", help="the Function URL, REST API stage URL, or local emulator URL"
    )
    parser.add_argument("--model", metavar="ID", help="model id to ask for (default: the function's default)")
    parser.add_argument(
        "--max-tokens",
        metavar="N",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help=f"output tokens for the counting answer, 1-{MAX_TOKENS_LIMIT} (default: {DEFAULT_MAX_TOKENS})",
    )
    sign = parser.add_mutually_exclusive_group()
    sign.add_argument("--sign", dest="sign", action="store_true", default=None, help="always sign (SigV4)")
    sign.add_argument("--no-sign", dest="sign", action="store_false", help="never sign")
    bearer = parser.add_mutually_exclusive_group()
    bearer.add_argument(
        "--api-key", metavar="KEY", dest="bearer", help="REST API key, as Authorization: Bearer"
    )
    bearer.add_argument("--bearer", metavar="TOKEN", dest="bearer", help="Cognito ID token, as Bearer")
    parser.add_argument("--profile", metavar="NAME", help="AWS profile (signing, CloudWatch Logs)")
    parser.add_argument("--region", metavar="R", help="AWS region (default: from the URL's host)")
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="per request (default: 30)",
    )
    parser.add_argument(
        "--log-group", metavar="NAME", help="the function's log group: look for its EMF lines"
    )
    parser.add_argument(
        "--log-wait",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_LOG_WAIT_S,
        help=f"longest wait for CloudWatch Logs to deliver, 0-{MAX_LOG_WAIT_S:.0f} (default: 60)",
    )
    parser.add_argument(
        "--metrics-namespace",
        metavar="NS",
        default=DEFAULT_NAMESPACE,
        help="the function's METRICS_NAMESPACE",
    )
    return parser


def main(argv: list[str], *, stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.max_tokens <= MAX_TOKENS_LIMIT:
        parser.error(f"--max-tokens must be 1 to {MAX_TOKENS_LIMIT}")
    if args.timeout <= 0 or not 0 <= args.log_wait <= MAX_LOG_WAIT_S:
        parser.error(f"--timeout must be positive and --log-wait 0 to {MAX_LOG_WAIT_S:.0f}")
    config = SmokeConfig(
        url=args.url,
        model=args.model,
        max_tokens=args.max_tokens,
        sign=args.sign,
        bearer=args.bearer,
        profile=args.profile,
        region=args.region,
        timeout=args.timeout,
        log_group=args.log_group,
        log_wait_s=args.log_wait,
        namespace=args.metrics_namespace,
    )
    try:
        report = run(config)
    except StreamClientError as exc:
        stderr.write(f"{PROG}: {' '.join(str(exc).split())}\n")
        return exc.exit_code
    stdout.write(report.render() + "\n")
    stdout.flush()
    return report.exit_code


def run(config: SmokeConfig) -> Report:
    """Send the requests and build the report (raises UsageError before sending anything)."""
    started_ms = int(time.time() * 1000)
    target = Target.parse(config.url, bearer=config.bearer is not None)
    auth = build_auth(
        target, bearer=config.bearer, sign=config.sign, profile=config.profile, region=config.region
    )
    local = target.is_local
    prepared = prepare_request(
        target.url,
        COUNT_PROMPT + (LOCAL_COUNT_DIRECTIVES if local else ""),
        StreamOptions(
            model=config.model,
            max_tokens=config.max_tokens,
            format="sse",
            sign=config.sign,
            region=config.region,
            profile=config.profile,
            credentials=auth.credentials,
            timeout=config.timeout,
            bearer=config.bearer,
        ),
    )
    http = SmokeHttp(target, auth, timeout=config.timeout)
    before = smoke_metrics.read_snapshot(http) if local else None
    native = smoke_checks.native_stream(http, prepared)
    models, ids = smoke_checks.models(http)
    chat = smoke_checks.chat_stream(
        http,
        model=config.model or native.model_id or (ids[0] if ids else None),
        prompt=CHAT_PROMPT + (LOCAL_CHAT_DIRECTIVES if local else ""),
        max_tokens=min(CHAT_MAX_TOKENS, config.max_tokens),
    )
    bad = smoke_checks.bad_request(http)
    tokens = _sum(native.tokens, chat.tokens)
    if before is not None:
        reached = sum(1 for exchange in http.function_exchanges if exchange.reached_function)
        later = [smoke_metrics.check(http, before, reached=reached, tokens=tokens), _local_completion()]
        calls = 0
    else:
        *later, calls = _log_checks(http, config, started_ms=started_ms, tokens=tokens)
    return Report(
        heading=f"smoke test of {target.url} ({target.door} door, auth: {auth.describe()}"
        f"{', the local emulator' if local else ''})",
        checks=(native.check, chat.check, bad, models, *later, Check("INFO", "pre-prelude", PRE_PRELUDE)),
        function_requests=len(http.function_exchanges),
        other_requests=http.other_requests,
        max_requests=MAX_REQUESTS,
        logs_calls=calls,
    )


def _sum(*answers: Tokens | None) -> Tokens | None:
    present = [tokens for tokens in answers if tokens is not None]
    if len(present) != len(answers):
        return None
    return Tokens(input=sum(t.input for t in present), output=sum(t.output for t in present))


def _local_completion() -> Check:
    return Check(
        "INFO",
        smoke_logs.COMPLETION_NAME,
        "PROTOCOL.md §11.9 #2: the emulator sends no completion notification; only a deployed REST API "
        "can show whether API Gateway sends one (smoke test it with --api-key and --log-group)",
    )


def _log_checks(
    http: SmokeHttp, config: SmokeConfig, *, started_ms: int, tokens: Tokens | None
) -> tuple[Check, Check, int]:
    """The metrics and completion lines for a deployed function, from its log group when given."""
    target = http.target
    reached = [exchange for exchange in http.function_exchanges if exchange.reached_function]
    rest = target.door == "rest-api"
    if config.log_group is None:
        why = "pass --log-group NAME (the function's log group) to look for them in CloudWatch Logs"
        return (
            Check("SKIP", smoke_logs.METRICS_NAME, f"EMF documents not looked for: {why}"),
            Check("INFO", smoke_logs.COMPLETION_NAME, f"PROTOCOL.md §11.9 #2, not looked for: {why}"),
            0,
        )
    query = smoke_logs.LogSearch(
        log_group=config.log_group,
        start_ms=started_ms,
        namespace=config.namespace,
        request_ids=frozenset(e.request_id for e in reached if e.request_id),
        expected_documents=len(reached),
        expected_completions=len(reached) if rest else 0,
        wait_s=config.log_wait_s,
    )
    findings = smoke_logs.find(query, profile=config.profile, region=config.region or target.region)
    metrics = smoke_logs.metrics_check(query, findings, output_tokens=tokens.output if tokens else None)
    if rest:
        return metrics, smoke_logs.completion_check(query, findings), findings.calls
    completion = Check(
        "INFO",
        smoke_logs.COMPLETION_NAME,
        "PROTOCOL.md §11.9 #2, not looked for: the completion notification belongs to the REST API door",
    )
    return metrics, completion, findings.calls
