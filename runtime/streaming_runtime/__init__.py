"""A streaming custom runtime for AWS Lambda in pure Python (standard library only)."""
