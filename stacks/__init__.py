"""CDK code: the reusable BedrockStreamingFunction construct and the BedrockStreamingStack that deploys it."""
