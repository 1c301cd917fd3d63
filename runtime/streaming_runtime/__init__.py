"""A streaming custom runtime for AWS Lambda in pure Python (standard library only)."""

from streaming_runtime.context import InvocationContext
from streaming_runtime.errors import FunctionError
from streaming_runtime.loop import run
from streaming_runtime.response import RawStreamingResponse, StreamingResponse

__all__ = ["FunctionError", "InvocationContext", "RawStreamingResponse", "StreamingResponse", "run"]
