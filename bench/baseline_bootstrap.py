"""The baseline: a bootstrap written the seed blog's way (requests.get for /next, requests.post with the
handler's generator as data). Deliberately naive: no error handling, no context, new connections."""

import importlib
import json
import os
import sys

import requests

AWS_LAMBDA_RUNTIME_API = os.getenv("AWS_LAMBDA_RUNTIME_API")
LAMBDA_TASK_ROOT = os.getenv("LAMBDA_TASK_ROOT")
sys.path.append(LAMBDA_TASK_ROOT or ".")
module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)

INVOCATION_URL = f"http://{AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
RESPONSE_URL_TEMPLATE = "http://{}/2018-06-01/runtime/invocation/{}/response"
HEADERS = {"Lambda-Runtime-Function-Response-Mode": "streaming", "Transfer-Encoding": "chunked"}

while True:
    response = requests.get(INVOCATION_URL, stream=True)
    event_data = json.loads(response.text)
    invocation_id = response.headers.get("Lambda-Runtime-Aws-Request-Id")
    response_url = RESPONSE_URL_TEMPLATE.format(AWS_LAMBDA_RUNTIME_API, invocation_id)
    requests.post(response_url, headers=HEADERS, data=handler(event_data, None))
