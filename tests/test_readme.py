"""The README and docs/ stay true: layout, make targets, CLI options, env vars, examples and links."""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from emulator.config import build_parser as emulator_parser
from stream_client.__main__ import build_parser as client_parser
from stream_client.smoke import build_parser as smoke_parser
from tests.support.emulator_process import EmulatorProcess, hermetic_env
from tests.support.http_client import request

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_LINE_LIMIT = 200


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def doc_pages() -> list[Path]:
    """README.md and every page under docs/, the set the link and make checks cover."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def section(text: str, heading: str) -> str:
    """The text under `heading` (e.g. "## Environment variables") up to the next heading of its level or
    higher; fails the test when the heading is gone, so a renamed section cannot pass silently."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines(keepends=True)
    outside = set(prose_line_numbers(text))  # a `# comment` in a code block is no heading
    starts = [n for n in outside if lines[n].rstrip("\n") == heading]
    assert starts, f"heading {heading!r} not found"
    ends = [n for n in outside if n > starts[0] and re.match(rf"#{{1,{level}}} ", lines[n])]
    return "".join(lines[starts[0] + 1 : min(ends, default=len(lines))])


# --- layout, make targets, CLI options, environment variables ------------------------------------


def layout_paths() -> set[str]:
    return {
        match for row in read("docs/layout.md").splitlines() for match in re.findall(r"^\| `([^`]+)` \|", row)
    }


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
    assert sorted(tracked_files() - documented) == [], "files missing from the layout table in docs/layout.md"
    assert sorted(documented - tracked_files()) == [], "layout rows for files that do not exist"


def makefile_targets(*, documented_only: bool) -> set[str]:
    pattern = r"^([a-z][a-z-]*):.*## " if documented_only else r"^([a-z][a-z-]*):"
    return set(re.findall(pattern, read("Makefile"), flags=re.MULTILINE))


def test_every_make_target_is_documented() -> None:
    targets = makefile_targets(documented_only=True)
    assert targets, "no documented targets found in the Makefile"
    commands = read("docs/commands.md")
    missing = sorted(target for target in targets if f"`make {target}`" not in commands)
    assert missing == []


def test_every_make_command_the_docs_mention_exists() -> None:
    mentioned = {
        (page.relative_to(ROOT).as_posix(), target)
        for page in doc_pages()
        for target in re.findall(r"`make ([a-z][a-z-]*)", page.read_text(encoding="utf-8"))
    }
    assert {target for _, target in mentioned} >= {"demo", "test", "local", "deploy"}, "pattern finds nothing"
    unknown = sorted(
        (page, target) for page, target in mentioned if target not in makefile_targets(documented_only=False)
    )
    assert unknown == []


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    options: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options |= option_strings(sub)
        options |= {option for option in action.option_strings if option.startswith("--")}
    return options - {"--help"}


@pytest.mark.parametrize(
    ("parser", "page"),
    [
        (emulator_parser(), "docs/emulator.md"),
        (client_parser(), "docs/stream-client.md"),
        (smoke_parser(), "docs/stream-client.md"),
    ],
    ids=["emulator", "stream_client", "stream_client smoke"],
)
def test_every_cli_option_is_documented(parser: argparse.ArgumentParser, page: str) -> None:
    options = option_strings(parser)
    assert "--timeout" in options, "the parser walk no longer finds options"
    text = read(page)
    missing = sorted(option for option in options if f"`{option}" not in text)
    assert missing == []


ENV_READ = re.compile(r"""(?:environ(?:\.get)?|getenv|reader\.\w+)\(\s*["']([A-Z_][A-Z0-9_]{3,})["']""")


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    sources = [*ROOT.glob("runtime/**/*.py"), *ROOT.glob("emulator/*.py"), *ROOT.glob("stream_client/*.py")]
    read_names = {name for path in sources for name in ENV_READ.findall(path.read_text(encoding="utf-8"))}
    assert {"MODEL_IDS", "AWS_LAMBDA_RUNTIME_API"} <= read_names, "the pattern no longer finds env reads"
    table = section(read("docs/configuration.md"), "## Environment variables")
    missing = sorted(
        name for name in read_names if name not in table and name.replace("AWS_LAMBDA_", "…_") not in table
    )
    assert missing == []


# --- documented examples run ---------------------------------------------------------------------


def test_the_handler_example_streams_as_documented(tmp_path: Path) -> None:
    contract = section(read("docs/runtime.md"), "## Handler contract")
    example = contract.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    with EmulatorProcess(["--task-root", str(tmp_path), "--handler", "example.handler"]) as running:
        reply = request(running.url, "/", method="POST", body=b"{}")
    assert reply.status == 200 and reply.header("content-type") == "text/plain"
    assert reply.body == b"streamed one chunk at a time\n"
    assert len(reply.arrivals) >= 3  # the pieces arrived one by one, not as one buffered body


LOCAL_URL = "http://127.0.0.1:3000/"


def tour_commands() -> list[list[str]]:
    """The commands of the README's "Stream locally" step, continuation lines joined, as argv lists."""
    step = section(read("README.md"), "## 30-second tour").split("**Deploy.**", 1)[0]
    block = step.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_tour_streams_locally_as_documented() -> None:
    client, curl = tour_commands()
    assert client[:3] == [".venv/bin/python", "-m", "stream_client"] and LOCAL_URL in client
    assert curl[0] == "curl" and LOCAL_URL in curl
    makefile = read("Makefile")  # the tour's URL is where `make local` serves
    assert "PORT ?= 3000" in makefile and "-m emulator serve --port $(PORT)" in makefile
    with EmulatorProcess() as running:  # what `make local` runs, on a free port
        argv = [running.url if arg == LOCAL_URL else arg for arg in client]
        cli = subprocess.run(
            [sys.executable, *argv[1:]],
            cwd=ROOT,
            env=hermetic_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        headers = [tuple(value.split(": ", 1)) for flag, value in itertools.pairwise(curl) if flag == "-H"]
        body = curl[curl.index("-d") + 1].encode()
        reply = request(running.url, "/", method="POST", body=body, headers=headers)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() and "ttfb_ms=" in cli.stderr  # the answer, then the stats line on stderr
    assert reply.status == 200 and (reply.header("content-type") or "").startswith("text/event-stream")
    events = re.findall(r"^event: (\w+)$", reply.body.decode(), flags=re.MULTILINE)
    tokens = int(re.findall(r"@stub:tokens=(\d+)", body.decode())[0])  # the documented body asks for N deltas
    assert events == ["delta"] * tokens + ["done"]


# --- the README stays short, and every page is reachable and well formed ----------------------


def test_the_readme_is_short() -> None:
    lines = read("README.md").splitlines()
    assert len(lines) <= README_LINE_LIMIT, f"README.md has {len(lines)} lines; reference belongs in docs/"


def page_links(page: Path) -> set[Path]:
    """The docs pages (resolved) that `page` links to."""
    return {
        (page.parent / target.split("#", 1)[0]).resolve()
        for target in link_targets(page.read_text(encoding="utf-8"))
        if target.split("#", 1)[0].endswith(".md") and not SCHEME.match(target)
    }


def test_every_docs_page_is_linked_from_the_readme_and_the_index() -> None:
    pages = {page.resolve() for page in DOCS.glob("*.md")} - {(DOCS / "README.md").resolve()}
    assert len(pages) >= 10, "docs/ pages not found"
    for index in (ROOT / "README.md", DOCS / "README.md"):
        unlinked = sorted(page.name for page in pages - page_links(index))
        assert unlinked == [], f"pages not linked from {index.relative_to(ROOT)}"
    assert (DOCS / "README.md").resolve() in page_links(ROOT / "README.md")


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_every_docs_page_opens_with_a_title_a_summary_and_a_link_back(page: Path) -> None:
    title, blank, summary, blank_again, back, *_ = page.read_text(encoding="utf-8").splitlines()
    assert title.startswith("# ") and blank == "" and blank_again == ""
    assert summary and not summary.startswith(("#", "|", "-", "[", "```")), "a one-line summary first"
    assert "](../README.md)" in back, "a link back to the README under the summary"


# --- links and anchors ---------------------------------------------------------------------------

SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto: ... are not checked
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def prose_line_numbers(text: str) -> Iterator[int]:
    """The numbers (from 0) of the lines outside fenced code blocks."""
    fence = ""
    for number, line in enumerate(text.splitlines()):
        marker = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
        elif not fence:
            yield number


def prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks."""
    lines = text.splitlines()
    return (lines[number] for number in prose_line_numbers(text))


def link_targets(text: str) -> list[str]:
    return [target for line in prose_lines(text) for target in LINK.findall(CODE_SPAN.sub("", line))]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation except - and _ removed,
    each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in prose_lines(text):
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = github_slug(heading.group(1))
            found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    return found


def resolves(page: Path, target: str, root: Path) -> bool:
    """A relative link from `page` names a file or folder inside `root` and, with `#anchor`, a heading
    of that Markdown file (of `page` itself when the path is empty)."""
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page.resolve()
    if not resolved.exists() or not resolved.is_relative_to(root.resolve()):
        return False
    return not anchor or (
        resolved.suffix == ".md" and anchor in anchors(resolved.read_text(encoding="utf-8"))
    )


def broken_links(pages: Iterable[Path], root: Path) -> list[str]:
    """`page: target` for every relative link in `pages` that does not resolve."""
    return [
        f"{page.name}: {target}"
        for page in pages
        for target in link_targets(page.read_text(encoding="utf-8"))
        if not SCHEME.match(target) and not resolves(page, target, root)
    ]


def test_every_relative_link_and_anchor_resolves() -> None:
    pages = [*doc_pages(), ROOT / "CHANGELOG.md"]
    targets = [target for page in pages for target in link_targets(page.read_text(encoding="utf-8"))]
    assert any("#" in target and not target.startswith("#") for target in targets), "no cross-page anchors"
    assert len(targets) >= 30, "the link pattern no longer finds the docs' links"
    assert broken_links(pages, ROOT) == []


def test_the_link_check_catches_broken_files_and_anchors(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    twice = "## Errors (before the first byte)\n\n"
    (root / "docs" / "api.md").write_text(f"# The function's HTTP API\n\n{twice}{twice}", encoding="utf-8")
    (tmp_path / "x.md").write_text("# x\n", encoding="utf-8")  # exists, but outside the repository
    page = root / "README.md"
    page.write_text(
        "# Title\n\n## Set-up & `make demo`\n\n"
        "[ok](docs/api.md#the-functions-http-api) [ok](docs/api.md#errors-before-the-first-byte-1) "
        "[ok](#set-up--make-demo) [ok](https://example.com/missing) `[code](missing.md)`\n"
        "[gone](docs/missing.md) [bad anchor](docs/api.md#errors) [bad local](#setup) [outside](../x.md)\n"
        "```\n[fenced](missing.md)\n# not a heading\n```\n",
        encoding="utf-8",
    )
    assert broken_links([page], root) == [
        "README.md: docs/missing.md",
        "README.md: docs/api.md#errors",
        "README.md: #setup",
        "README.md: ../x.md",
    ]
    assert "not-a-heading" not in anchors(page.read_text(encoding="utf-8"))


# --- licence and project metadata ----------------------------------------------------------------


def test_project_metadata_matches_the_license_readme_and_changelog() -> None:
    project = tomllib.loads(read("pyproject.toml"))["project"]
    assert project["license"] == "Apache-2.0" and project["readme"] == "README.md"
    assert all((ROOT / name).is_file() for name in project["license-files"])
    license_text = read("LICENSE")
    assert "Apache License\n                           Version 2.0, January 2004" in license_text
    for number, title in enumerate(
        [
            "Definitions",
            "Grant of Copyright License",
            "Grant of Patent License",
            "Redistribution",
            "Submission of Contributions",
            "Trademarks",
            "Disclaimer of Warranty",
            "Limitation of Liability",
            "Accepting Warranty or Additional Liability",
        ],
        start=1,
    ):
        assert f"{number}. {title}." in license_text, "the full Apache-2.0 text, every section"
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert "Apache License 2.0" in read("README.md") and "](LICENSE)" in read("README.md")
    oldest = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert oldest, "requires-python is a lower bound"
    minors = sorted(
        int(c.rsplit(".", 1)[1])
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert minors[0] == int(oldest.group(1)) and minors == list(range(minors[0], minors[-1] + 1))
    assert f"Python 3.{oldest.group(1)}+" in read("README.md")
    changelog = read("CHANGELOG.md")
    release = re.sub(r"\.dev\d+$", "", project["version"])
    if release == project["version"]:
        assert re.search(
            rf"^## \[?{re.escape(release)}\]? - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.MULTILINE
        )
    else:
        assert release in section(changelog, "## Unreleased"), (
            "the Unreleased section names the coming version"
        )
