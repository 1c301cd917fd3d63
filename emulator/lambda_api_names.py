"""Which function a Lambda API request names: its `FunctionName` path label (a name, `name:qualifier`, a
partial or a full ARN) and its `Qualifier` query, checked against the emulator's one function.

The label must match the `NamespacedFunctionName` pattern of botocore's `lambda` model (else 400
`ValidationException`, as Lambda answers a malformed name); a plain name is at most 64 characters. It
names the emulator's function when its name is `--function-name` or `function` (the name AWS's Runtime
Interface Emulator serves), its region (if given) is `--region`, its account (if given) is the
emulator's `000000000000`, and its qualifier (from the label or the query, which must agree) is
`$LATEST`: the emulator has no versions or aliases. Anything else is 404 `ResourceNotFoundException`.
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import parse_qs, unquote

from emulator.lambda_api_responses import InvalidParameterValueError, ResourceNotFoundError, ValidationError

RIE_FUNCTION_NAME = "function"
LATEST = "$LATEST"
LOCAL_ACCOUNT_ID = "000000000000"
MAX_NAME_LENGTH = 64
MAX_LABEL_LENGTH = 256
# botocore's NamespacedFunctionName pattern (lambda 2015-03-31), with its groups named.
NAMESPACED_FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(?P<account>\d{12}:)?(function:)?(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)


def check_function(label: str, query: str, *, function_name: str, region: str) -> None:
    """Raise the Lambda API error for a `FunctionName` label (as sent, percent-encoded) and query that do
    not name the emulator's function at `$LATEST`."""
    name = unquote(label)
    match = NAMESPACED_FUNCTION_NAME.fullmatch(name)
    if match is None:
        _invalid(name, f"Member must satisfy regular expression pattern: {NAMESPACED_FUNCTION_NAME.pattern}")
    limit = MAX_LABEL_LENGTH if ":" in name else MAX_NAME_LENGTH
    if len(name) > limit:
        _invalid(name, f"Member must have length less than or equal to {limit}")
    qualifier = _qualifier(match["qualifier"], query)
    arn_region = (match["region"] or f"{region}:").rstrip(":")
    account = (match["account"] or f"{LOCAL_ACCOUNT_ID}:").rstrip(":")
    arn = f"arn:aws:lambda:{arn_region}:{account}:function:{match['name']}"
    ours = (
        match["name"] in (function_name, RIE_FUNCTION_NAME)
        and arn_region == region
        and account == LOCAL_ACCOUNT_ID
    )
    if not ours:
        raise ResourceNotFoundError(f"Function not found: {arn}")
    if qualifier not in (None, LATEST):
        raise ResourceNotFoundError(f"Function not found: {arn}:{qualifier}")


def _invalid(name: str, constraint: str) -> NoReturn:
    shown = name if len(name) <= 300 else name[:300] + "…"
    raise ValidationError(
        f"1 validation error detected: Value '{shown}' at 'functionName' failed to satisfy constraint: "
        + constraint
    )


def _qualifier(from_label: str | None, query: str) -> str | None:
    """The qualifier the label and the `Qualifier` query name (None: neither does)."""
    values = parse_qs(query, keep_blank_values=True).get("Qualifier")
    from_query = values[-1] or None if values else None  # an empty Qualifier names none
    if from_query is not None and from_label is not None and from_query != from_label:
        raise InvalidParameterValueError(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return from_query if from_query is not None else from_label
