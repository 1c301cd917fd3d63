"""The README stays true: the layout table, make targets, CLI options and env vars it documents."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

from emulator.config import build_parser as emulator_parser
from stream_client.__main__ import build_parser as client_parser
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def layout_paths() -> set[str]:
    section = README.split("\n## Layout\n", 1)[1]
    return {match for row in section.splitlines() for match in re.findall(r"^\| `([^`]+)` \|", row)}


def tracked_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {path for path in listed if (ROOT / path).is_file()}


def test_layout_table_lists_every_file_and_nothing_else() -> None:
    documented = layout_paths()
    assert sorted(tracked_files() - documented) == [], "files missing from the README layout table"
    assert sorted(documented - tracked_files()) == [], "layout rows for files that do not exist"


def test_every_make_target_is_documented() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.MULTILINE)
    assert targets, "no documented targets found in the Makefile"
    missing = [target for target in targets if f"`make {target}`" not in README]
    assert missing == []


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    options: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options |= option_strings(sub)
        options |= {option for option in action.option_strings if option.startswith("--")}
    return options - {"--help"}


@pytest.mark.parametrize("parser", [emulator_parser(), client_parser()], ids=["emulator", "stream_client"])
def test_every_cli_option_is_documented(parser: argparse.ArgumentParser) -> None:
    missing = sorted(option for option in option_strings(parser) if f"`{option}" not in README)
    assert missing == []


ENV_READ = re.compile(r"""(?:environ(?:\.get)?|getenv|reader\.\w+)\(\s*["']([A-Z_][A-Z0-9_]{3,})["']""")


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    sources = [*ROOT.glob("runtime/**/*.py"), *ROOT.glob("emulator/*.py"), *ROOT.glob("stream_client/*.py")]
    read = {name for path in sources for name in ENV_READ.findall(path.read_text(encoding="utf-8"))}
    assert {"MODEL_IDS", "AWS_LAMBDA_RUNTIME_API"} <= read, "the pattern no longer finds env reads"
    table = README.split("\n## Environment variables\n", 1)[1].split("\n## ", 1)[0]
    missing = sorted(
        name for name in read if name not in table and name.replace("AWS_LAMBDA_", "…_") not in table
    )
    assert missing == []


def test_the_handler_example_streams_as_documented(tmp_path: Path) -> None:
    section = README.split("\n## Handler contract (the runtime)\n", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    with EmulatorProcess(["--task-root", str(tmp_path), "--handler", "example.handler"]) as running:
        reply = request(running.url, "/", method="POST", body=b"{}")
    assert reply.status == 200 and reply.header("content-type") == "text/plain"
    assert reply.body == b"streamed one chunk at a time\n"
    assert len(reply.arrivals) >= 3  # the pieces arrived one by one, not as one buffered body
