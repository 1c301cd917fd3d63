"""The metrics benchmark's parts: the document check against each writer's shape, the probe process on a
real root (ours and the baseline; the libraries from their pinned roots, slow), the handler's emf/off
workers, the budget verdicts and the decision rule, `--only metrics`. Nothing here is timed."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import image_build, metrics_bench, metrics_handler, metrics_rounds, task_roots
from bench import metrics_contenders as contenders
from bench import surface_requests as requests
from bench.results import render

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
NOW_MS = 1_765_017_600_123
# What bedrock_handler.metrics writes for the benchmark's invocation (the contract's layout).
OURS_LINE = (
    '{"_aws":{"Timestamp":1765017600123,"CloudWatchMetrics":[{"Namespace":"BedrockStreaming","Dimensions":'
    '[["FunctionName","Api","ModelId"],["FunctionName"]],"Metrics":[{"Name":"Requests","Unit":"Count"},'
    '{"Name":"Succeeded","Unit":"Count"},{"Name":"Duration","Unit":"Milliseconds"},{"Name":'
    '"TimeToFirstToken","Unit":"Milliseconds"},{"Name":"InputTokens","Unit":"Count"},{"Name":'
    '"OutputTokens","Unit":"Count"},{"Name":"CacheReadTokens","Unit":"Count"},{"Name":"EndTurnStops",'
    '"Unit":"Count"}]}]},"FunctionName":"bench","Api":"openai","ModelId":"amazon.nova-lite-v1:0",'
    '"Requests":1,"Succeeded":1,"Duration":181,"TimeToFirstToken":42,"InputTokens":12,"OutputTokens":7,'
    '"CacheReadTokens":1024,"EndTurnStops":1,"RequestId":"8f2c1d7e-0b5c-4c1e-9a43-000000000001",'
    '"Outcome":"ok","Status":200,"StopReason":"end_turn","Format":"openai-sse","Door":"function-url",'
    '"Principal":"iam:arn:aws:iam::123456789012:user/bench","TraceId":"1-5f84c3a8-0123456789abcdef01234567"}'
)


def _ours() -> dict[str, object]:
    document: dict[str, object] = json.loads(OURS_LINE)
    return document


def test_ours_writes_the_golden_line() -> None:
    """Ours' contender code run in this process with the working tree's module: byte for byte the golden
    line once the timestamp is the golden one."""
    namespace = {**contenders.invocation(), "__name__": "emitter"}
    exec(contenders.OURS_SETUP, namespace)
    with contextlib.redirect_stdout(io.StringIO()) as written:
        namespace["emit_document"]()  # type: ignore[operator]
    line = written.getvalue()
    document = json.loads(line)
    document["_aws"]["Timestamp"] = NOW_MS
    assert json.dumps(document, separators=(",", ":")) == OURS_LINE
    assert line.endswith("\n") and line.count("\n") == 1
    assert contenders.check_document(line) == ()


def test_the_check_accepts_each_libraries_shape() -> None:
    powertools = _ours()  # Powertools writes each value as an array of floats
    for name, _, value in contenders.METRICS:
        powertools[name] = [float(value)]
    assert contenders.check_document(json.dumps(powertools), now_ms=NOW_MS) == ()
    embedded = _ours()  # aws-embedded-metrics adds Lambda properties of its own, keys in another order
    embedded.update(executionEnvironment="", memorySize="1024")
    reordered = dict(reversed(list(embedded.items())))
    assert contenders.check_document(json.dumps(reordered), now_ms=NOW_MS) == (
        "executionEnvironment",
        "memorySize",
    )


def _mutated(change: str) -> str:
    document = _ours()
    emf = document["_aws"]
    assert isinstance(emf, dict)
    directive = emf["CloudWatchMetrics"][0]
    if change == "metric missing":
        del document["EndTurnStops"]
        directive["Metrics"].pop()
    elif change == "unit":
        directive["Metrics"][2]["Unit"] = "Seconds"
    elif change == "value":
        document["InputTokens"] = 13
    elif change == "dimension sets":
        directive["Dimensions"] = [["FunctionName", "Api", "ModelId"]]
    elif change == "dimension value":
        document["Api"] = "native"
    elif change == "property":
        document["Outcome"] = "client_error"
    elif change == "namespace":
        directive["Namespace"] = "aws-embedded-metrics"
    elif change == "timestamp":
        emf["Timestamp"] = NOW_MS - 3_600_000
    elif change == "storage resolution":
        directive["Metrics"][0]["StorageResolution"] = 1
    return json.dumps(document)


@pytest.mark.parametrize(
    "change",
    ["metric missing", "unit", "value", "dimension sets", "dimension value", "property", "namespace",
     "timestamp", "storage resolution"],
)  # fmt: skip
def test_the_check_refuses_another_document(change: str) -> None:
    with pytest.raises(contenders.DocumentMismatchError, match="differs"):
        contenders.check_document(_mutated(change), now_ms=NOW_MS)


@pytest.mark.parametrize("line", ["not json", "[1, 2]", OURS_LINE + "\n" + OURS_LINE])
def test_the_check_refuses_what_is_not_one_document(line: str) -> None:
    with pytest.raises(contenders.DocumentMismatchError):
        contenders.check_document(line, now_ms=NOW_MS)


def _placed(contender: contenders.Contender) -> metrics_rounds.Placed:
    """`contender` on the working tree's runtime/ (bootstrap, streaming_runtime, bedrock_handler)."""
    return metrics_rounds.Placed(contender, RUNTIME, str(RUNTIME), ())


def test_the_probe_runs_ours_and_the_baseline_in_fresh_processes() -> None:
    interpreter, _ = image_build.interpreter()
    ours = metrics_rounds.probe(_placed(contenders.OURS), interpreter, warm=5)
    assert 0 < ours.import_ms < 1000 and 0 < ours.first_ms < 1000
    assert len(ours.warm_us) == 5 and all(value > 0 for value in ours.warm_us)
    assert "bedrock_handler.metrics" in ours.modules
    assert "json" not in ours.modules  # the runtime's own modules are loaded before the timing starts
    assert ours.extras == ()
    baseline = metrics_rounds.probe(_placed(contenders.BASELINE), interpreter, warm=2)
    assert baseline.modules == () and len(baseline.warm_us) == 2


@pytest.mark.parametrize(
    ("setup", "writes", "error"),
    [
        ("def emit_document():\n    print('{\"_aws\": {}}')\n", True, "differs"),
        ("def emit_document():\n    pass\n", True, "wrote 0 lines"),
        ("def emit_document():\n    print('{}')\n", False, "expected nothing"),
        ("import no_such_writer\n", True, "(?s)the wrong probe failed: .*no_such_writer"),
    ],
)
def test_the_probe_refuses_a_writer_that_does_not_write_the_document(
    setup: str, writes: bool, error: str
) -> None:
    wrong = contenders.Contender("wrong", None, setup, writes=writes)
    interpreter, _ = image_build.interpreter()
    with pytest.raises(RuntimeError, match=error):
        metrics_rounds.probe(_placed(wrong), interpreter, warm=1)


def test_the_handler_workers_write_one_document_with_emf_and_none_when_off() -> None:
    """The real driver and two worker processes on runtime/ (this venv's botocore) with METRICS=emf and
    off: each answer checked, rounds recorded after the warm-up round."""
    roots = task_roots.TaskRoots(Path(sys.executable), "", {"image": RUNTIME}, "test", cached=True)
    warm = metrics_handler.measure_warm(roots, rounds=2, iterations=3)
    for mode in (metrics_handler.EMF, metrics_handler.OFF):
        for kind in metrics_handler.KINDS:
            assert len(warm.series[mode][kind].samples) == 6
            assert len(warm.series[mode][kind].round_medians) == 2


def test_the_document_check_of_the_handler_workers() -> None:
    def answer(written: str) -> dict[str, dict[str, str]]:
        return {kind: {"stdout": written} for kind in metrics_handler.KINDS}

    document = '{"_aws":{"Timestamp":1},"Api":"%s"}\n'
    with pytest.raises(RuntimeError, match="METRICS=off"):
        metrics_handler.check_documents(metrics_handler.OFF, answer(document % "native"))
    with pytest.raises(RuntimeError, match="not one EMF document"):
        metrics_handler.check_documents(metrics_handler.EMF, answer(""))
    with pytest.raises(RuntimeError, match="does not name the openai API"):
        metrics_handler.check_documents(metrics_handler.EMF, answer(document % "native"))
    metrics_handler.check_documents(metrics_handler.OFF, answer(""))
    fine = {
        requests.NATIVE: {"stdout": document % "native"},
        requests.OPENAI: {"stdout": document % "openai"},
    }
    metrics_handler.check_documents(metrics_handler.EMF, fine)


def _reading(cold_ms: float, warm_us: float) -> metrics_rounds.ProbeReading:
    return metrics_rounds.ProbeReading(cold_ms / 2, cold_ms / 2, [warm_us] * 5, ("m",), ())


def _readings(**cold_and_warm: tuple[float, float]) -> metrics_bench.Readings:
    values = {metrics_bench.BASELINE: (0.01, 0.1), **cold_and_warm}
    return {name: [_reading(cold * (1 + i / 100), warm * (1 + i / 100)) for i in range(20)]
            for name, (cold, warm) in values.items()}  # fmt: skip


def test_the_decision_keeps_ours_when_no_library_meets_both_budgets() -> None:
    readings = _readings(ours=(0.5, 15), **{"aws-embedded-metrics": (180, 58), "powertools": (30, 60)})
    assert metrics_bench.meets_budgets(readings, "ours") == (True, True)
    assert metrics_bench.meets_budgets(readings, "powertools") == (False, True)
    assert metrics_bench.decision(readings).startswith("keep our own writer")


def test_the_decision_prefers_a_library_that_meets_both_budgets() -> None:
    readings = _readings(ours=(0.5, 15), **{"aws-embedded-metrics": (4, 58), "powertools": (3, 600)})
    assert metrics_bench.decision(readings) == "use aws-embedded-metrics: it meets both budgets"
    straddling = _readings(ours=(4.6, 15), **{"aws-embedded-metrics": (180, 58), "powertools": (30, 60)})
    assert metrics_bench.meets_budgets(straddling, "ours")[0] is None  # its interval holds 5 ms
    assert metrics_bench.decision(straddling).startswith("undecided")


def test_the_writers_section_shows_each_library_with_its_version() -> None:
    readings = _readings(ours=(0.5, 15), **{"aws-embedded-metrics": (180, 58), "powertools": (30, 60)})
    placed = {
        name: metrics_rounds.Placed(contender, RUNTIME, "", (f"{contender.library}==9.9".replace("-", "_"),))
        for contender in contenders.ALL
        for name in (contender.name,)
    }
    section = metrics_bench.writers_section(readings, placed, warm=5)
    text = render([section])
    assert "ours vs aws-embedded-metrics 9.9" in text and "ours vs aws-lambda-powertools 9.9" in text
    verdicts = {(row.metric.split(":")[0], row.unit): row.passed for row in section.rows if row.target}
    assert verdicts == {
        ("ours", "ms"): True, ("ours", "µs"): True,
        ("aws-embedded-metrics", "ms"): False, ("aws-embedded-metrics", "µs"): True,
        ("aws-lambda-powertools", "ms"): False, ("aws-lambda-powertools", "µs"): True,
    }  # fmt: skip
    assert "keep our own writer" in text


def test_the_constraints_pin_both_libraries() -> None:
    pins = dict(
        line.split("==")
        for line in task_roots.METRICS_LIBRARIES_CONSTRAINTS.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {"aws-embedded-metrics", "aws-lambda-powertools"} <= set(pins)
    assert {c.library for c in contenders.LIBRARIES} == set(task_roots.METRICS_LIBRARIES)
    roots = task_roots.TaskRoots(Path(sys.executable), "", {"runtime": RUNTIME}, "test", cached=True)
    with pytest.raises(ValueError, match="not a metrics library"):
        task_roots.prepare_metrics_library(roots, "boto3")


def test_only_accepts_metrics() -> None:
    assert "bench.metrics_bench" in bench_main.MODULES
    assert "metrics" in bench_main._short_names("bench.metrics_bench")


@pytest.mark.slow  # pip installs both libraries' roots on the first run, then cached in bench/out
def test_each_library_writes_the_document_from_its_own_root() -> None:
    roots = task_roots.prepare()
    try:
        placed = metrics_rounds.place(roots)
    except image_build.InstallError as exc:
        pytest.skip(f"the pinned libraries could not be installed from the registry: {exc}")
    embedded, powertools = placed["aws-embedded-metrics"], placed["powertools"]
    assert "aws_embedded_metrics==3.5.0" in embedded.installed
    assert "aws_lambda_powertools==3.37.0" in powertools.installed
    assert not (embedded.root / "aws_lambda_powertools").exists()
    assert not (powertools.root / "aws_embedded_metrics").exists()
    assert (
        not (RUNTIME / "aws_embedded_metrics").exists() and not (RUNTIME / "aws_lambda_powertools").exists()
    )
    for name in ("aws-embedded-metrics", "powertools"):
        reading = metrics_rounds.probe(placed[name], roots.interpreter, warm=3)
        assert len(reading.warm_us) == 3 and reading.cold_ms > 0
    assert metrics_bench.version(embedded) == "3.5.0"
    assert metrics_bench.version(powertools) == "3.37.0"
