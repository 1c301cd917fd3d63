"""CloudWatch embedded metric format (EMF) documents: reading one log line as a document and listing
every way it breaks the specification.

Rules, from the specification ("Specification: Embedded metric format", Amazon CloudWatch User Guide,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html,
its prose and its JSON schema):

- the log event is one JSON object, nothing before or after it, at most 1 MB;
- the root has `_aws`, an object with exactly `Timestamp` (an integer: milliseconds since the epoch)
  and `CloudWatchMetrics` (a list of MetricDirective objects); "objects defined by this specification
  MUST NOT contain any additional members", so `_aws`, directives and metric definitions have no others;
- a directive has exactly `Namespace`, `Dimensions` and `Metrics`;
- `Dimensions` is a list (at least one) of DimensionSets; a DimensionSet is a list of at most 30 dimension
  keys (it may be empty), each a string of 1-250 characters naming a root member (a target member)
  whose value is a string of at most 1024 characters;
- `Metrics` is a list of at most 100 MetricDefinitions: `Name` (a string of 1-1024 characters naming a
  root member whose value is a number or a list of at most 100 numbers), optional `Unit` (a CloudWatch
  unit, the schema's list), optional `StorageResolution` (an integer, 1 or 60).

The specification's schema lets a namespace have up to 1024 characters; CloudWatch itself takes 1-255
ASCII characters without control characters, not starting with `:` (the Metric and PutMetricData
reference) nor with the reserved `AWS/`, and those are the rules checked here. JSON's numbers exclude
NaN and Infinity (RFC 8259), and booleans are not numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

EMF_PREFIX = '{"_aws":'  # how a document's line starts (the function writes `_aws` first)
MAX_DOCUMENT_BYTES = 1024 * 1024  # a CloudWatch Logs event, and so an EMF document, is at most 1 MB
MAX_DIMENSIONS_PER_SET = 30
MAX_DIMENSION_KEY_CHARS = 250
MAX_DIMENSION_VALUE_CHARS = 1024
MAX_METRICS_PER_DIRECTIVE = 100
MAX_METRIC_NAME_CHARS = 1024
MAX_VALUES_PER_METRIC = 100
MAX_NAMESPACE_CHARS = 255
STORAGE_RESOLUTIONS = (1, 60)
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds",
        "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
        "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
        "Count/Second", "None",
    }
)  # fmt: skip
_AWS_MEMBERS = frozenset({"Timestamp", "CloudWatchMetrics"})
_DIRECTIVE_MEMBERS = frozenset({"Namespace", "Dimensions", "Metrics"})
_DEFINITION_MEMBERS = frozenset({"Name", "Unit", "StorageResolution"})


class EmfError(ValueError):
    """A line that is not a JSON object at all (so not a document to check further)."""


def parse(line: bytes | str) -> dict[str, Any]:
    """The JSON object on `line` (its line ending removed); EmfError when it is none, is too large, or
    has anything before or after it."""
    raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    raw = raw.removesuffix(b"\n").removesuffix(b"\r")
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise EmfError(f"the document has {len(raw)} bytes, more than {MAX_DOCUMENT_BYTES}")
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EmfError(f"not one JSON value: {exc}") from None
    if text != text.strip():
        raise EmfError("data before or after the JSON object")
    if not isinstance(document, dict):
        raise EmfError(f"the document is a JSON {type(document).__name__}, not an object")
    return document


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def is_number(value: object) -> bool:
    """A JSON number: an int or a finite float, not a boolean."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def problems(document: object) -> list[str]:
    """Every way `document` (a parsed JSON value) breaks the specification; [] for a valid document."""
    if not isinstance(document, dict):
        return ["the document is not a JSON object"]
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        return ["_aws: missing or not an object"]
    found = _extra_members("_aws", metadata, _AWS_MEMBERS)
    timestamp = metadata.get("Timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        found.append("_aws.Timestamp: missing or not an integer (milliseconds since the epoch)")
    elif timestamp < 0:
        found.append(f"_aws.Timestamp: {timestamp} is before the epoch")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        found.append("_aws.CloudWatchMetrics: missing or not a list")
        return found
    for index, directive in enumerate(directives):
        found.extend(_directive_problems(f"_aws.CloudWatchMetrics[{index}]", directive, document))
    return found


def _directive_problems(where: str, directive: object, root: Mapping[str, object]) -> list[str]:
    if not isinstance(directive, dict):
        return [f"{where}: not an object"]
    found = _extra_members(where, directive, _DIRECTIVE_MEMBERS)
    found.extend(_namespace_problems(f"{where}.Namespace", directive.get("Namespace")))
    found.extend(_dimensions_problems(f"{where}.Dimensions", directive.get("Dimensions"), root))
    found.extend(_metrics_problems(f"{where}.Metrics", directive.get("Metrics"), root))
    return found


def _namespace_problems(where: str, namespace: object) -> list[str]:
    if not isinstance(namespace, str):
        return [f"{where}: missing or not a string"]
    if not 1 <= len(namespace) <= MAX_NAMESPACE_CHARS:
        return [f"{where}: {len(namespace)} characters, not 1-{MAX_NAMESPACE_CHARS}"]
    if any(not " " <= char <= "~" for char in namespace):
        return [f"{where}: {namespace!r} has a character that is not printable ASCII"]
    if namespace.startswith(":"):
        return [f"{where}: {namespace!r} starts with ':'"]
    if namespace.startswith("AWS/"):
        return [f"{where}: {namespace!r} is in the reserved AWS/ namespaces"]
    return []


def _dimensions_problems(where: str, dimensions: object, root: Mapping[str, object]) -> list[str]:
    if not isinstance(dimensions, list):
        return [f"{where}: missing or not a list"]
    if not dimensions:
        return [f"{where}: empty (at least one DimensionSet, which may itself be empty)"]
    found: list[str] = []
    for index, dimension_set in enumerate(dimensions):
        here = f"{where}[{index}]"
        if not isinstance(dimension_set, list):
            found.append(f"{here}: not a list")
            continue
        if len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            found.append(f"{here}: {len(dimension_set)} dimension keys, more than {MAX_DIMENSIONS_PER_SET}")
        for position, key in enumerate(dimension_set):
            found.extend(_dimension_key_problems(f"{here}[{position}]", key, root))
    return found


def _dimension_key_problems(where: str, key: object, root: Mapping[str, object]) -> list[str]:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_DIMENSION_KEY_CHARS:
        return [f"{where}: not a string of 1-{MAX_DIMENSION_KEY_CHARS} characters"]
    if key not in root:
        return [f"{where}: {key!r} names no root member"]
    value = root[key]
    if not isinstance(value, str):
        return [f"{where}: the dimension {key!r} has a {_json_type(value)} value, not a string"]
    if len(value) > MAX_DIMENSION_VALUE_CHARS:
        return [
            f"{where}: the dimension {key!r} has {len(value)} characters, over {MAX_DIMENSION_VALUE_CHARS}"
        ]
    return []


def _metrics_problems(where: str, metrics: object, root: Mapping[str, object]) -> list[str]:
    if not isinstance(metrics, list):
        return [f"{where}: missing or not a list"]
    found: list[str] = []
    if len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        found.append(f"{where}: {len(metrics)} metric definitions, more than {MAX_METRICS_PER_DIRECTIVE}")
    for index, definition in enumerate(metrics):
        found.extend(_definition_problems(f"{where}[{index}]", definition, root))
    return found


def _definition_problems(where: str, definition: object, root: Mapping[str, object]) -> list[str]:
    if not isinstance(definition, dict):
        return [f"{where}: not an object"]
    found = _extra_members(where, definition, _DEFINITION_MEMBERS)
    name = definition.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_METRIC_NAME_CHARS:
        found.append(f"{where}.Name: missing or not a string of 1-{MAX_METRIC_NAME_CHARS} characters")
    elif name not in root:
        found.append(f"{where}.Name: {name!r} names no root member")
    else:
        found.extend(_metric_value_problems(f"{where}.Name: the metric {name!r}", root[name]))
    unit = definition.get("Unit", "None")
    if not isinstance(unit, str) or unit not in UNITS:
        found.append(f"{where}.Unit: {unit!r} is not a CloudWatch unit")
    resolution = definition.get("StorageResolution", 60)
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int)
        or resolution not in STORAGE_RESOLUTIONS
    ):
        found.append(f"{where}.StorageResolution: {resolution!r} is not the integer 1 or 60")
    return found


def _metric_value_problems(where: str, value: object) -> list[str]:
    if is_number(value):
        return []
    if not isinstance(value, list):
        return [f"{where} has a {_json_type(value)} value, not a number or a list of numbers"]
    if len(value) > MAX_VALUES_PER_METRIC:
        return [f"{where} has {len(value)} values, more than {MAX_VALUES_PER_METRIC}"]
    if not all(is_number(item) for item in value):
        return [f"{where} has a list value with an element that is not a number"]
    return []


def _extra_members(where: str, obj: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    extra = sorted(set(obj) - allowed)
    return [f"{where}: members the specification does not allow: {', '.join(extra)}"] if extra else []


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return "non-finite number" if isinstance(value, float) else type(value).__name__


def metric_values(document: Mapping[str, Any]) -> dict[str, list[int | float]]:
    """A valid document's metrics as CloudWatch extracts them: each name its directives declare -> its
    values (one, or the list's). Only for a document `problems` has nothing to say about."""
    values: dict[str, list[int | float]] = {}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for definition in directive["Metrics"]:
            value = document[definition["Name"]]
            values[definition["Name"]] = list(value) if isinstance(value, list) else [value]
    return values
