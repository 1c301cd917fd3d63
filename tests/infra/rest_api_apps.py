"""Synthesize app.py's stack with the REST API door that context chooses (for the test_rest_api* modules)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import CDK_CONTEXT, RUNTIME_DIR, SynthesizedApp

# The three doors as a deployer would choose them with -c; each test module synthesizes what it needs.
API_KEYS: dict[str, Any] = {"restApi": "api-keys"}
COGNITO: dict[str, Any] = {
    "restApi": "cognito",
    "allowedOrigins": ["https://chat.example.com", "http://localhost:3000"],
    "cognitoCallbackUrls": "https://chat.example.com/callback",
}
IAM_WITH_WAF: dict[str, Any] = {
    "restApi": "iam",
    "restApiWaf": "create",
    "restApiExecutionLogging": "error",
    "allowedOrigins": "*",
}


def synthesize(context: Mapping[str, Any], outdir: Path) -> SynthesizedApp:
    """app.build_app with cdk.json's context plus ``context``, synthesized (cdk-nag runs) into outdir."""
    if not (RUNTIME_DIR / "Dockerfile").is_file():
        pytest.skip("runtime/Dockerfile does not exist yet")
    import app as app_module

    app, stack = app_module.build_app(context={**CDK_CONTEXT, **context}, outdir=str(outdir))
    app.synth()
    return SynthesizedApp(app=app, stack=stack, outdir=outdir)
