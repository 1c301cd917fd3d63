"""The deployed function: a Function URL event in, a Bedrock token stream out as text, SSE or NDJSON."""
