"""emulator/emf.py against golden documents: the specification's own example and the function's document
pass; each rule of the specification fails on a document that breaks only that rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from bedrock_handler import metrics

from emulator import emf

# The specification's example (CloudWatch User Guide, "Embedded metric format example and JSON schema").
SPEC_EXAMPLE = """{"_aws": {"Timestamp": 1574109732004, "CloudWatchMetrics": [
    {"Namespace": "lambda-function-metrics", "Dimensions": [["functionVersion"]],
     "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]}]},
 "functionVersion": "$LATEST", "time": 100, "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"}"""

# The contract's example line (issue 15 §1): what the function prints for an OpenAI streamed answer.
CONTRACT_LINE = (
    '{"_aws":{"Timestamp":1765017600123,"CloudWatchMetrics":[{"Namespace":"BedrockStreaming","Dimensions":'
    '[["FunctionName","Api","ModelId"],["FunctionName"]],"Metrics":[{"Name":"Requests","Unit":"Count"},'
    '{"Name":"Succeeded","Unit":"Count"},{"Name":"Duration","Unit":"Milliseconds"},{"Name":"TimeToFirstToken",'
    '"Unit":"Milliseconds"},{"Name":"InputTokens","Unit":"Count"},{"Name":"OutputTokens","Unit":"Count"},'
    '{"Name":"EndTurnStops","Unit":"Count"}]}]},"FunctionName":"bedrock-streaming","Api":"openai",'
    '"ModelId":"amazon.nova-lite-v1:0","Requests":1,"Succeeded":1,"Duration":181,"TimeToFirstToken":42,'
    '"InputTokens":12,"OutputTokens":7,"EndTurnStops":1,"RequestId":"8f2c","Outcome":"ok","Status":200,'
    '"StopReason":"end_turn","Format":"openai-chat","Door":"function-url"}\n'
)


def good() -> dict[str, Any]:
    return emf.parse(CONTRACT_LINE)


def directive(document: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = document["_aws"]["CloudWatchMetrics"][0]
    return first


def test_the_specifications_example_passes() -> None:
    assert emf.problems(json.loads(SPEC_EXAMPLE)) == []


def test_the_contract_example_passes_and_yields_its_metric_values() -> None:
    document = good()
    assert emf.problems(document) == []
    assert emf.metric_values(document) == {
        "Requests": [1],
        "Succeeded": [1],
        "Duration": [181],
        "TimeToFirstToken": [42],
        "InputTokens": [12],
        "OutputTokens": [7],
        "EndTurnStops": [1],
    }


def test_every_document_the_handler_can_build_passes() -> None:
    """Each outcome and stop metric, with every optional value, as bedrock_handler.metrics builds it."""
    assert emf.EMF_PREFIX == metrics.EMF_PREFIX
    for outcome in metrics.OUTCOME_METRICS:
        for stop in [*metrics.STOP_METRICS, "something_new", None]:
            values = metrics.invocation_values(
                outcome_name=outcome,
                stop_reason=stop,
                duration_ms=181,
                first_token_ms=42,
                model_called=True,
                input_tokens=12,
                output_tokens=7,
                cache_read_tokens=3,
                cache_write_tokens=4,
                reasoning_deltas=5,
            )
            document = metrics.document(
                namespace="BedrockStreaming",
                function_name="local",
                timestamp_ms=1765017600123,
                api="native",
                model_id=None,
                values=values,
                properties={"Outcome": outcome, "StopReason": stop, "Caller": None},
            )
            line = json.dumps(document, separators=(",", ":"))
            assert line.startswith(emf.EMF_PREFIX)
            assert emf.problems(emf.parse(line)) == [], (outcome, stop)


def test_limits_themselves_pass() -> None:
    """The largest allowed values of each limit (and the optional parts left out) are valid."""
    document = good()
    document |= {f"D{i}": "v" for i in range(30)} | {f"M{i}": i for i in range(100)}
    document["Long"] = "x" * 1024
    document["Many"] = [1.5] * 100
    document["_aws"]["CloudWatchMetrics"] = [
        {
            "Namespace": "N" * 255,
            "Dimensions": [[f"D{i}" for i in range(30)], [], ["Long"]],
            "Metrics": [{"Name": f"M{i}"} for i in range(99)] + [{"Name": "Many", "StorageResolution": 1}],
        },
        {"Namespace": "Second", "Dimensions": [[]], "Metrics": []},
    ]
    assert emf.problems(document) == []


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A mutation setting `path` (dot-separated keys; digits index lists) to `value`."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[last]

    return mutate


D = "_aws.CloudWatchMetrics.0"  # the first directive
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no _aws", _drop("_aws"), "_aws: missing or not an object"),
    ("_aws not an object", _set("_aws", [1]), "_aws: missing or not an object"),
    ("_aws extra member", _set("_aws.LogGroupName", "g"), "_aws: members the specification does not allow"),
    ("no Timestamp", _drop("_aws.Timestamp"), "_aws.Timestamp: missing or not an integer"),
    ("float Timestamp", _set("_aws.Timestamp", 1.5), "_aws.Timestamp: missing or not an integer"),
    ("string Timestamp", _set("_aws.Timestamp", "1"), "_aws.Timestamp: missing or not an integer"),
    ("boolean Timestamp", _set("_aws.Timestamp", True), "_aws.Timestamp: missing or not an integer"),
    ("Timestamp before 1970", _set("_aws.Timestamp", -1), "_aws.Timestamp: -1 is before the epoch"),
    ("no CloudWatchMetrics", _drop("_aws.CloudWatchMetrics"), "_aws.CloudWatchMetrics: missing or not a"),
    ("CloudWatchMetrics object", _set("_aws.CloudWatchMetrics", {}), "CloudWatchMetrics: missing or not"),
    ("directive not an object", _set(D, "x"), f"{D.replace('.0', '[0]')}: not an object"),
    ("directive extra member", _set(f"{D}.Extra", 1), "[0]: members the specification does not allow: Extra"),
    ("no Namespace", _drop(f"{D}.Namespace"), "[0].Namespace: missing or not a string"),
    ("Namespace number", _set(f"{D}.Namespace", 7), "[0].Namespace: missing or not a string"),
    ("empty Namespace", _set(f"{D}.Namespace", ""), "[0].Namespace: 0 characters, not 1-255"),
    ("long Namespace", _set(f"{D}.Namespace", "N" * 256), "[0].Namespace: 256 characters, not 1-255"),
    ("control char", _set(f"{D}.Namespace", "a\tb"), "has a character that is not printable ASCII"),
    ("non-ASCII", _set(f"{D}.Namespace", "Bedröck"), "has a character that is not printable ASCII"),
    ("colon first", _set(f"{D}.Namespace", ":x"), "[0].Namespace: ':x' starts with ':'"),
    ("AWS/ namespace", _set(f"{D}.Namespace", "AWS/Lambda"), "is in the reserved AWS/ namespaces"),
    ("no Dimensions", _drop(f"{D}.Dimensions"), "[0].Dimensions: missing or not a list"),
    ("no DimensionSet", _set(f"{D}.Dimensions", []), "[0].Dimensions: empty"),
    ("set not a list", _set(f"{D}.Dimensions.0", "FunctionName"), "[0].Dimensions[0]: not a list"),
    ("31 keys", _set(f"{D}.Dimensions.0", ["FunctionName"] * 31), "31 dimension keys, more than 30"),
    ("key a number", _set(f"{D}.Dimensions.1.0", 3), "[0].Dimensions[1][0]: not a string of 1-250"),
    ("empty key", _set(f"{D}.Dimensions.1.0", ""), "[0].Dimensions[1][0]: not a string of 1-250"),
    ("long key", _set(f"{D}.Dimensions.1.0", "K" * 251), "[0].Dimensions[1][0]: not a string of 1-250"),
    ("key names nothing", _drop("ModelId"), "[0].Dimensions[0][2]: 'ModelId' names no root member"),
    ("dimension a number", _set("Api", 2), "the dimension 'Api' has a int value, not a string"),
    ("dimension null", _set("Api", None), "the dimension 'Api' has a null value, not a string"),
    ("dimension too long", _set("Api", "a" * 1025), "the dimension 'Api' has 1025 characters, over 1024"),
    ("no Metrics", _drop(f"{D}.Metrics"), "[0].Metrics: missing or not a list"),
    ("101 metrics", _set(f"{D}.Metrics", [{"Name": "Requests"}] * 101), "101 metric definitions, more than"),
    ("definition a string", _set(f"{D}.Metrics.0", "Requests"), "[0].Metrics[0]: not an object"),
    ("definition extra", _set(f"{D}.Metrics.0.Value", 1), "[0].Metrics[0]: members the specification"),
    ("no Name", _drop(f"{D}.Metrics.0.Name"), "[0].Metrics[0].Name: missing or not a string"),
    ("long Name", _set(f"{D}.Metrics.0.Name", "M" * 1025), "[0].Metrics[0].Name: missing or not a string"),
    ("Name names nothing", _drop("Requests"), "[0].Metrics[0].Name: 'Requests' names no root member"),
    ("value a string", _set("Requests", "1"), "'Requests' has a string value, not a number"),
    ("value a boolean", _set("Requests", True), "'Requests' has a boolean value, not a number"),
    ("value an object", _set("Requests", {"v": 1}), "'Requests' has a object value, not a number"),
    ("value NaN", _set("Requests", float("nan")), "'Requests' has a non-finite number value"),
    ("101 values", _set("Requests", [1] * 101), "'Requests' has 101 values, more than 100"),
    ("a value not a number", _set("Requests", [1, "2"]), "a list value with an element that is not a number"),
    ("unknown Unit", _set(f"{D}.Metrics.0.Unit", "Tokens"), "Unit: 'Tokens' is not a CloudWatch unit"),
    ("Unit lower case", _set(f"{D}.Metrics.0.Unit", "count"), "'count' is not a CloudWatch unit"),
    ("Unit a list", _set(f"{D}.Metrics.0.Unit", ["Count"]), "['Count'] is not a CloudWatch unit"),
    ("resolution 30", _set(f"{D}.Metrics.0.StorageResolution", 30), "StorageResolution: 30 is not the int"),
    ("resolution text", _set(f"{D}.Metrics.0.StorageResolution", "60"), "StorageResolution: '60' is not"),
    ("resolution float", _set(f"{D}.Metrics.0.StorageResolution", 1.0), "StorageResolution: 1.0 is not"),
    ("resolution bool", _set(f"{D}.Metrics.0.StorageResolution", True), "StorageResolution: True is not"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN])
def test_each_rule_fails_on_its_own(mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    document = copy.deepcopy(good())
    mutate(document)
    found = emf.problems(document)
    assert len(found) == 1, found
    assert expected in found[0], found


def test_every_problem_is_listed() -> None:
    document = good()
    document["_aws"]["Timestamp"] = "now"
    directive(document)["Namespace"] = ""
    document["Api"] = 1
    document["Duration"] = "181"
    assert emf.problems(document) == [
        "_aws.Timestamp: missing or not an integer (milliseconds since the epoch)",
        "_aws.CloudWatchMetrics[0].Namespace: 0 characters, not 1-255",
        "_aws.CloudWatchMetrics[0].Dimensions[0][1]: the dimension 'Api' has a int value, not a string",
        "_aws.CloudWatchMetrics[0].Metrics[2].Name: the metric 'Duration' has a string value, not a number "
        "or a list of numbers",
    ]


def test_a_value_that_is_not_an_object_is_one_problem() -> None:
    assert emf.problems([1, 2]) == ["the document is not a JSON object"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b" " + CONTRACT_LINE.encode(), "data before or after the JSON object"),
        (CONTRACT_LINE.rstrip("\n") + " \n", "data before or after the JSON object"),
        (CONTRACT_LINE.rstrip("\n") + "{}\n", "not one JSON value"),
        ('{"_aws":{"Timestamp":1,"CloudWatchMetrics":[', "not one JSON value"),  # a partial line
        ('{"_aws":{},"Requests":NaN}', "not one JSON value: NaN is not a JSON number"),
        ('{"_aws":{},"Requests":-Infinity}', "not one JSON value: -Infinity is not a JSON number"),
        (b'{"_aws":{},"x":"\xff"}', "not one JSON value"),
        ("[1]", "the document is a JSON list, not an object"),
        ('{"_aws":{},"pad":"' + "x" * emf.MAX_DOCUMENT_BYTES + '"}', "more than 1048576"),
    ],
    ids=[
        "space before",
        "space after",
        "two values",
        "partial",
        "NaN",
        "Infinity",
        "bad UTF-8",
        "list",
        "1 MB",
    ],
)
def test_parse_refuses_what_is_not_one_json_object(line: str | bytes, expected: str) -> None:
    with pytest.raises(emf.EmfError) as raised:
        emf.parse(line)
    assert expected in str(raised.value)


def test_parse_takes_the_line_with_either_line_ending_as_bytes_or_text() -> None:
    expected = json.loads(CONTRACT_LINE)
    assert emf.parse(CONTRACT_LINE) == expected
    assert emf.parse(CONTRACT_LINE.encode()) == expected
    assert emf.parse(CONTRACT_LINE.rstrip("\n") + "\r\n") == expected
    assert emf.parse(CONTRACT_LINE.rstrip("\n")) == expected


def test_metric_values_keeps_lists_and_reads_every_directive() -> None:
    document = json.loads(SPEC_EXAMPLE)
    document["many"] = [1, 2.5, 3]
    document["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "other", "Dimensions": [[]], "Metrics": [{"Name": "many"}, {"Name": "time"}]}
    )
    assert emf.problems(document) == []
    assert emf.metric_values(document) == {"time": [100], "many": [1, 2.5, 3]}
