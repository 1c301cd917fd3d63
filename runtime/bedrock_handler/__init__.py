"""The deployed function: an HTTP request event in, a Bedrock token stream out in the native API's text, SSE
or NDJSON, or as OpenAI Chat Completions."""
