"""CORS on the REST API door (`cors`, CORS_ALLOWED_ORIGINS): the function answers an allowed `Origin` on
every response of a REST event (a streamed reply, a listing, an error), and nothing else: not an origin
outside the list, not without the setting, not on the Function URL (which adds its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bedrock_handler.invocation import respond
from handler_support import FakeContext, load_event
from test_rest_event import rest_request

Build = Callable[..., Any]
ORIGIN = "https://chat.example.com"


def headers_of(make_model: Build, event: dict[str, Any], **env: str) -> tuple[int, dict[str, str]]:
    config, model = make_model(**env)
    response = respond(event, FakeContext(), config=config, model=model)
    "".join(response.body)  # the stream runs to its end, as the runtime would run it
    return response.status_code, dict(response.headers)


def with_origin(origin: str, **request: Any) -> dict[str, Any]:
    return rest_request(headers={"Origin": [origin]}, **request)


@pytest.mark.parametrize(
    ("request_fields", "status"),
    [
        ({"body": {"prompt": "hi @stub:tokens=2"}}, 200),
        ({"body": None, "method": "GET", "path": "/v1/models"}, 200),
        ({"body": {"prompt": ""}}, 400),
    ],
    ids=["stream", "listing", "error"],
)
def test_an_allowed_origin_is_answered_on_every_response(
    make_model: Build, request_fields: dict[str, Any], status: int
) -> None:
    event = with_origin(ORIGIN, **request_fields)
    got, headers = headers_of(make_model, event, CORS_ALLOWED_ORIGINS=f"http://localhost:3000,{ORIGIN}")
    assert got == status
    assert (headers["access-control-allow-origin"], headers["vary"]) == (ORIGIN, "origin")


def test_a_wildcard_allows_any_origin(make_model: Build) -> None:
    event = with_origin("https://anywhere.example", body={"prompt": "hi"})
    _, headers = headers_of(make_model, event, CORS_ALLOWED_ORIGINS="*")
    assert headers["access-control-allow-origin"] == "*" and "vary" not in headers


@pytest.mark.parametrize(
    ("event", "env"),
    [
        (with_origin("https://evil.example", body={"prompt": "hi"}), {"CORS_ALLOWED_ORIGINS": ORIGIN}),
        (with_origin(ORIGIN, body={"prompt": "hi"}), {}),
        (rest_request({"prompt": "hi"}), {"CORS_ALLOWED_ORIGINS": ORIGIN}),
        (load_event(body={"prompt": "hi"}, headers={"origin": ORIGIN}), {"CORS_ALLOWED_ORIGINS": ORIGIN}),
    ],
    ids=["origin not allowed", "no setting", "no Origin header", "Function URL door"],
)
def test_no_cors_header_otherwise(make_model: Build, event: dict[str, Any], env: dict[str, str]) -> None:
    _, headers = headers_of(make_model, event, **env)
    assert "access-control-allow-origin" not in headers
