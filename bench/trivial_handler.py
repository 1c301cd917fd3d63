"""The runtime start-up benchmark's handler: imports nothing and returns a small JSON result.

Run by both our runtime and AWS's awslambdaric (which cannot stream), so it returns a value rather than
yielding: each runtime then posts it as a buffered JSON response.
"""


def handler(event: object, context: object) -> dict[str, object]:
    return {"ok": True, "echo": event}
