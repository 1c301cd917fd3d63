"""Build step (run by the Dockerfile, not shipped): keep only the botocore data the function's clients load.

`python prune_botocore.py TASK_ROOT SERVICE [SERVICE ...]` (or the single word `all` to keep everything):

- removes every `botocore/data/<service>/` folder not named, because botocore lists all of them when it
  loads any model;
- rewrites `botocore/data/endpoints.json` so each partition lists only the named services (under their
  names and their models' endpoint prefixes). botocore parses that whole file (1.2 MiB, 1,100+ service
  entries) for every client it creates, which is ~15 % of creating a bedrock-runtime client; a service
  with no entry, like bedrock-runtime, resolves through the partition defaults kept unchanged.

Standard library only: it runs with the image's interpreter before anything else is importable.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

USAGE = "usage: python prune_botocore.py TASK_ROOT SERVICE [SERVICE ...] | all"


def prune(task_root: Path, services: Sequence[str]) -> None:
    """Prune `task_root`'s botocore data to `services` (nothing is pruned when they include "all")."""
    data = task_root / "botocore" / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data} does not exist: is botocore installed in {task_root}?")
    if "all" in services:
        return
    kept = set(services)
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in kept:
            shutil.rmtree(entry)
    endpoints = data / "endpoints.json"
    if endpoints.is_file():
        names = kept | {prefix for service in kept if (prefix := endpoint_prefix(data / service))}
        document = json.loads(endpoints.read_text(encoding="utf-8"))
        for partition in document.get("partitions", []):
            partition["services"] = {
                name: entry for name, entry in partition.get("services", {}).items() if name in names
            }
        endpoints.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def endpoint_prefix(service_dir: Path) -> str | None:
    """The `endpointPrefix` of the newest API version of a service model (None if it has no model)."""
    versions = sorted(path for path in service_dir.glob("*/") if path.is_dir())
    if not versions:
        return None
    newest = versions[-1]
    for name, opener in (("service-2.json.gz", gzip.open), ("service-2.json", open)):
        model = newest / name
        if model.is_file():
            with opener(model, "rt", encoding="utf-8") as stream:
                prefix = json.load(stream).get("metadata", {}).get("endpointPrefix")
            return prefix if isinstance(prefix, str) else None
    return None


def main(argv: Sequence[str]) -> int:
    """Command-line entry: prune, or print a one-line error and return 2."""
    if len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        prune(Path(argv[0]), argv[1:])
    except (OSError, ValueError) as exc:
        print(f"prune_botocore: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
