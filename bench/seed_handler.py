"""The baseline's handler, written the seed blog's way: a boto3 client at import, text bytes yielded.

Like the seed's `lambda_function.py`: the client is created when the module is imported, the request
body is the prompt, the model id is fixed, and each text piece of the Bedrock stream is yielded as
encoded bytes (no status, no headers, no error handling). It calls ConverseStream rather than the
seed's InvokeModelWithResponseStream because our handler defaults to ConverseStream: both then read
the very same frames from the stand-in through the same botocore parser, so a comparison measures the
runtimes and handlers, not the choice of Bedrock API (InvokeModel would add a json.loads per chunk to
the baseline only). Loaded by bench/baseline_bootstrap.py as `seed_handler.handler`.
"""

import boto3

client = boto3.client("bedrock-runtime")

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"  # our handler's default model
MAX_TOKENS = 20_000  # high enough for the long-stream benchmark's 20,000 deltas


def handler(event, context):  # type: ignore[no-untyped-def]  # the seed's untyped signature
    response_stream = client.converse_stream(
        modelId=MODEL_ID,
        messages=[{"role": "user", "content": [{"text": event["body"]}]}],
        inferenceConfig={"maxTokens": MAX_TOKENS},
    )
    status_code = response_stream["ResponseMetadata"]["HTTPStatusCode"]
    if status_code != 200:
        raise ValueError(f"Error invoking Bedrock API: {status_code}")
    for response in response_stream["stream"]:
        if "contentBlockDelta" in response:
            yield response["contentBlockDelta"]["delta"]["text"].encode()
