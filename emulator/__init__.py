"""Local AWS Lambda emulator: Runtime API, streaming Function URL, process pool and Bedrock stand-in."""

import sys
from pathlib import Path

# The emulator shares the wire format with the runtime (`streaming_runtime.wire`), which lives in the
# image's build context `runtime/`; make it importable for `python -m emulator` run from a checkout.
_RUNTIME_DIR = str(Path(__file__).resolve().parent.parent / "runtime")
if _RUNTIME_DIR not in sys.path:
    sys.path.append(_RUNTIME_DIR)
