"""The monitoring dashboard and saved query: every metric they read is one the handler emits (names, units,
dimension sets from bedrock_handler.metrics), per configured model and API, in the configured namespace."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_handler import metrics as emitted

from tests.infra.monitoring_apps import (
    COHERE,
    NOVA,
    PROFILE,
    MonitoringApp,
    WidgetMetric,
    dashboard_body,
    logical_id,
    widget_metrics,
)

MONITORED = ("Defaults", "Custom", "GivenTopic", "Deployable")
NAMESPACES = {
    "Defaults": emitted.DEFAULT_NAMESPACE,
    "Custom": "Team/Chat",
    "GivenTopic": emitted.DEFAULT_NAMESPACE,
    "Deployable": "Team/Chat",
}
TOKENS_QUERY = (
    "filter ispresent(Requests)\n"
    "| stats sum(InputTokens) as inputTokens, sum(OutputTokens) as outputTokens, count(*) as requests "
    "by bin(1d) as day, Principal, Caller, ModelId\n"
    "| sort day desc"
)
# The per-request properties the contract names (docs/monitoring.md): the query groups by two of them.
PROPERTIES = {"RequestId", "Outcome", "Status", "StopReason", "ErrorType", "Format", "Door", "Principal"}
PROPERTIES |= {"Caller", "TraceId"}


@pytest.fixture(scope="module")
def lines(monitoring_app: MonitoringApp) -> dict[str, list[WidgetMetric]]:
    return {name: widget_metrics(dashboard_body(monitoring_app.template(name))) for name in MONITORED}


def _own(metrics: list[WidgetMetric]) -> list[WidgetMetric]:
    """The lines that read the function's own metrics (not AWS/Lambda's or AWS/ApiGateway's)."""
    return [m for m in metrics if not m.namespace.startswith("AWS/")]


def _function_ref(app: MonitoringApp, stack: str) -> str:
    return f"{{Ref:{logical_id(app.functions[stack].function)}}}"


@pytest.mark.parametrize("stack", MONITORED)
def test_every_own_metric_on_the_dashboard_is_one_the_function_emits(
    monitoring_app: MonitoringApp, lines: dict[str, list[WidgetMetric]], stack: str
) -> None:
    own = _own(lines[stack])
    assert own, "the dashboard should read the function's own metrics"
    whole, per_model = {emitted.DIMENSION_NAMES[0]}, set(emitted.DIMENSION_NAMES)
    for metric in own:
        assert metric.namespace == NAMESPACES[stack], metric
        assert metric.name in emitted.METRIC_UNITS, metric
        assert set(metric.dimensions) in (whole, per_model), metric
        assert metric.dimensions["FunctionName"] == _function_ref(monitoring_app, stack)
        if set(metric.dimensions) == per_model:
            assert metric.dimensions["Api"] in (emitted.API_NATIVE, emitted.API_OPENAI)
        # Counts are summed; milliseconds are read as percentiles.
        unit = emitted.METRIC_UNITS[metric.name]
        assert (metric.stat == "Sum") if unit == "Count" else re.fullmatch(r"p\d+", metric.stat), metric


def test_the_dashboard_shows_every_emitted_metric_but_reasoning_deltas(
    lines: dict[str, list[WidgetMetric]],
) -> None:
    shown = {metric.name for metric in _own(lines["Defaults"])}
    assert set(emitted.METRIC_UNITS) - shown == {"ReasoningDeltas"}
    assert set(emitted.OUTCOME_METRICS.values()) | set(emitted.STOP_METRICS.values()) <= shown
    assert emitted.OTHER_STOP_METRIC in shown


def test_first_token_is_p50_p90_p99_over_the_whole_function(lines: dict[str, list[WidgetMetric]]) -> None:
    first = [m for m in lines["Defaults"] if m.name == "TimeToFirstToken"]
    assert [(m.stat, set(m.dimensions)) for m in first] == [
        (p, {"FunctionName"}) for p in ("p50", "p90", "p99")
    ]
    assert {m.widget for m in first} == {"Time to first token (ms)"}


def _tokens(metrics: list[WidgetMetric], name: str) -> list[tuple[str, str]]:
    return [(m.dimensions["Api"], m.dimensions["ModelId"]) for m in metrics if m.name == name]


def test_tokens_are_one_series_per_configured_model_and_api(lines: dict[str, list[WidgetMetric]]) -> None:
    both = [(api, model) for model in (PROFILE, NOVA) for api in ("native", "openai")]
    assert _tokens(lines["Defaults"], "InputTokens") == both
    assert _tokens(lines["Defaults"], "OutputTokens") == both
    # An embedding model is OpenAI-only and has input tokens only.
    assert _tokens(lines["Custom"], "InputTokens") == [("native", NOVA), ("openai", NOVA), ("openai", COHERE)]
    assert _tokens(lines["Custom"], "OutputTokens") == [("native", NOVA), ("openai", NOVA)]


def test_lambda_metrics_are_the_functions_own(
    monitoring_app: MonitoringApp, lines: dict[str, list[WidgetMetric]]
) -> None:
    lambda_lines = {(m.name, m.stat) for m in lines["Defaults"] if m.namespace == "AWS/Lambda"}
    assert lambda_lines == {
        ("ConcurrentExecutions", "Maximum"),
        ("Invocations", "Sum"),
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
        ("Duration", "p50"),
        ("Duration", "p99"),
    }
    ref = _function_ref(monitoring_app, "Defaults")
    assert {m.dimensions["FunctionName"] for m in lines["Defaults"] if m.namespace == "AWS/Lambda"} == {ref}


def test_the_concurrency_graph_marks_the_reservation(monitoring_app: MonitoringApp) -> None:
    def limits(stack: str) -> list[Any]:
        body = dashboard_body(monitoring_app.template(stack))
        [widget] = [w for w in body["widgets"] if w["properties"].get("title") == "Lambda concurrency"]
        return [a["value"] for a in widget["properties"].get("annotations", {}).get("horizontal", [])]

    assert (limits("Defaults"), limits("GivenTopic"), limits("Custom")) == ([10], [3], [])


def test_rest_api_widgets_only_when_a_rest_api_is_attached(
    monitoring_app: MonitoringApp, lines: dict[str, list[WidgetMetric]]
) -> None:
    assert [m for m in lines["Defaults"] if m.namespace == "AWS/ApiGateway"] == []
    gateway = [m for m in lines["Custom"] if m.namespace == "AWS/ApiGateway"]
    assert [(m.name, m.stat) for m in gateway] == [
        ("4XXError", "Sum"),
        ("5XXError", "Sum"),
        ("Latency", "p50"),
        ("Latency", "p99"),
        ("IntegrationLatency", "p50"),
        ("IntegrationLatency", "p99"),
    ]
    [stage] = [
        logical
        for logical, r in monitoring_app.template("Custom")["Resources"].items()
        if r["Type"] == "AWS::ApiGateway::Stage"
    ]
    assert {tuple(sorted(m.dimensions.items())) for m in gateway} == {
        (("ApiName", "Custom-Door"), ("Stage", f"{{Ref:{stage}}}"))
    }
    body = dashboard_body(monitoring_app.template("Custom"))
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles[-3:] == [
        "REST API Door: 4xx and 5xx",
        "REST API Door: latency (ms)",
        "REST API Door: alarms",
    ]


def test_the_alarm_status_widget_lists_every_alarm(monitoring_app: MonitoringApp) -> None:
    for stack in MONITORED:
        body = dashboard_body(monitoring_app.template(stack))
        listed = [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
        expected = [
            f"{{GetAtt:{logical_id(a)}.Arn}}" for a in monitoring_app.functions[stack].alarms.values()
        ]
        assert sorted(listed) == sorted(expected), stack


def test_the_namespace_prop_reaches_the_function_and_the_dashboard(monitoring_app: MonitoringApp) -> None:
    def environment(stack: str) -> dict[str, str]:
        fn = monitoring_app.functions[stack].function
        props = monitoring_app.template(stack)["Resources"][logical_id(fn)]["Properties"]
        variables: dict[str, str] = props["Environment"]["Variables"]
        return variables

    assert environment("Custom")["METRICS_NAMESPACE"] == "Team/Chat"
    assert environment("Deployable")["METRICS_NAMESPACE"] == "Team/Chat"
    # The defaults leave both variables out, so the handler's own defaults (emf, BedrockStreaming) apply.
    assert {"METRICS", "METRICS_NAMESPACE"} & set(environment("Defaults")) == set()
    assert environment("Off")["METRICS"] == "off" and "METRICS_NAMESPACE" not in environment("Off")
    assert monitoring_app.functions["Custom"].metrics_namespace == "Team/Chat"
    assert monitoring_app.functions["Off"].metrics_namespace is None


def test_dashboard_names(monitoring_app: MonitoringApp) -> None:
    names = {
        stack: [
            r["Properties"].get("DashboardName")
            for r in monitoring_app.template(stack)["Resources"].values()
            if r["Type"] == "AWS::CloudWatch::Dashboard"
        ]
        for stack in MONITORED
    }
    assert names == {
        "Defaults": ["Defaults-Fn"],
        "Custom": ["chat-ops"],
        "GivenTopic": ["GivenTopic-Fn"],
        "Deployable": ["Deployable-BedrockStreaming"],
    }


def test_the_saved_query_reads_the_function_log_group(monitoring_app: MonitoringApp) -> None:
    for stack in MONITORED:
        function = monitoring_app.functions[stack]
        [query] = [
            r["Properties"]
            for r in monitoring_app.template(stack)["Resources"].values()
            if r["Type"] == "AWS::Logs::QueryDefinition"
        ]
        assert query["QueryString"] == TOKENS_QUERY
        assert query["LogGroupNames"] == [{"Ref": logical_id(function.log_group)}]
        path = "BedrockStreaming" if stack.startswith("Deployable") else "Fn"
        assert query["Name"] == f"{stack}/{path} tokens by caller and model per day"


def test_the_query_reads_fields_the_metrics_document_has() -> None:
    """Every field the query names is a metric, a dimension or a property of the metrics document, all of
    which are top-level keys of it (the document the handler writes)."""
    fields = set(re.findall(r"\b[A-Z][A-Za-z]+\b", TOKENS_QUERY))
    assert fields == {"Requests", "InputTokens", "OutputTokens", "Principal", "Caller", "ModelId"}
    assert fields <= set(emitted.METRIC_UNITS) | set(emitted.DIMENSION_NAMES) | PROPERTIES
    document = emitted.document(
        namespace=emitted.DEFAULT_NAMESPACE,
        function_name="fn",
        timestamp_ms=0,
        api=emitted.API_OPENAI,
        model_id=NOVA,
        values={"Requests": 1, "Succeeded": 1, "InputTokens": 3, "OutputTokens": 4},
        properties={"Principal": "apikey:abc", "Caller": "team-a"},
    )
    assert fields <= set(document)


def test_without_monitoring_there_is_no_dashboard_alarm_query_or_topic(monitoring_app: MonitoringApp) -> None:
    for stack in ("Off", "DeployableOff"):
        types = {r["Type"] for r in monitoring_app.template(stack)["Resources"].values()}
        assert not {t for t in types if t.startswith(("AWS::CloudWatch::", "AWS::SNS::", "AWS::KMS::"))}
        assert "AWS::Logs::QueryDefinition" not in types
        function = monitoring_app.functions[stack]
        assert (function.monitoring, function.dashboard, function.alarm_topic, function.query_definition) == (
            None,
            None,
            None,
            None,
        )
        assert function.alarms == {}
