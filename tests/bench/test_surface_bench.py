"""The ConverseStream-surface benchmark's parts: the PNG and request bodies, the worker (in process and as
a real subprocess on a task root), the reply and Converse checks, the verdicts, the lazy module list, the
sections when the commit before the surface is missing, `--only surface`. Nothing here is timed."""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
import zlib
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import surface_bench, surface_cold, surface_warm, surface_worker, task_roots
from bench import surface_requests as requests
from bench.openai_path import openai_body
from bench.results import render

REPO = Path(__file__).resolve().parents[2]
HANDLER = REPO / "runtime" / "bedrock_handler"


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        found.append((kind, body))
        offset += 12 + length
    return found


def test_the_image_is_a_valid_png_of_about_100_kb() -> None:
    data = requests.png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = _chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    side = requests.IMAGE_SIDE
    assert struct.unpack(">II", chunks[0][1][:8]) == (side, side)
    assert len(zlib.decompress(chunks[1][1])) == side * (side * 3 + 1)  # a filter byte per RGB row
    assert 100_000 <= len(data) <= 102_400
    assert requests.png() == data  # seeded: every run sends the same bytes


def test_each_kind_sends_its_own_body() -> None:
    image = requests.png()
    bodies = {kind: (target, json.loads(body), accept) for kind, (target, body, accept) in
              requests.bodies(image).items()}  # fmt: skip
    text = json.loads(openai_body(requests.PROMPT))
    assert bodies[requests.NATIVE] == ("/", {"prompt": requests.PROMPT}, "text/event-stream")
    assert bodies[requests.OPENAI][:2] == ("/v1/chat/completions", text)
    assert bodies[requests.TOOL][1] == {**text, "tools": [requests.TOOL_DEFINITION]}
    assert bodies[requests.REASONING][1] == {**text, "reasoning_effort": "low"}
    content = bodies[requests.IMAGE][1]["messages"][0]["content"]
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.partition(",")[2]) == image


def test_the_fake_reply_is_what_botocore_gives_the_handler() -> None:
    events = surface_worker.converse_events(["a", " b"])
    assert [next(iter(event)) for event in events] == [
        "messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop",
        "metadata",
    ]  # fmt: skip
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 2
    client = surface_worker.FakeClient()
    client.reply = events
    answer = client.converse_stream(modelId="m", messages=[])
    assert list(answer["stream"]) == events
    assert client.arguments == {"modelId": "m", "messages": []}


@pytest.fixture(scope="module")
def built() -> requests.Kinds:
    return requests.Kinds.build()


@pytest.fixture(scope="module")
def checked(built: requests.Kinds) -> dict[str, dict[str, object]]:
    """One real invocation of every kind through the working tree's handler, in this process."""
    kinds = (*requests.TEXT_KINDS, *requests.SURFACE_KINDS[1:])
    setup = built.setup(kinds)
    return surface_worker.Bench(setup["events"], setup["texts"]).check(list(kinds))


def test_every_kind_passes_its_checks(built: requests.Kinds, checked: dict[str, dict[str, object]]) -> None:
    for kind, answer in checked.items():
        requests.check_reply(kind, answer, built)
    image = checked[requests.IMAGE]["converse"]
    assert isinstance(image, dict)
    blocks = image["messages"][0]["content"]
    assert blocks[0]["image"]["source"]["bytes"] == f"<{len(built.image)} bytes>"  # images before text
    assert blocks[1] == {"text": requests.PROMPT}


def test_the_checks_refuse_a_wrong_reply_or_request(
    built: requests.Kinds, checked: dict[str, dict[str, object]]
) -> None:
    with pytest.raises(RuntimeError, match="not the fake model's text"):
        requests.check_reply(requests.OPENAI, checked[requests.NATIVE], built)  # SSE events, not chunks
    with pytest.raises(RuntimeError, match="not the fake model's text"):  # 1 delta where 101 are due
        requests.check_reply(requests.OPENAI_MANY, checked[requests.OPENAI], built)
    with pytest.raises(RuntimeError, match="unexpected ConverseStream arguments"):
        requests.check_reply(requests.TOOL, checked[requests.OPENAI], built)  # no toolConfig
    with pytest.raises(RuntimeError, match="unexpected ConverseStream arguments"):
        requests.check_reply(requests.OPENAI, checked[requests.REASONING], built)  # text-only must be plain


def test_the_opt_in_requests_load_their_modules(checked: dict[str, dict[str, object]]) -> None:
    """In this process other tests may have loaded them before, so only that they are loaded afterwards
    is asserted here; a worker process shows text-only requests load none (below)."""
    loaded = checked[requests.IMAGE]["modules"]
    assert isinstance(loaded, list)
    assert {
        "bedrock_handler.attachments",
        "bedrock_handler.openai_tools",
        "bedrock_handler.reasoning",
    } <= set(loaded)


@pytest.mark.parametrize("blocks", [False, True])
def test_measure_gives_every_kind_its_samples(built: requests.Kinds, blocks: bool) -> None:
    kinds = (requests.NATIVE, requests.OPENAI)
    setup = built.setup(kinds)
    samples = surface_worker.Bench(setup["events"], setup["texts"]).measure(list(kinds), 3, 1, blocks=blocks)
    assert {kind: len(values) for kind, values in samples.items()} == {requests.NATIVE: 3, requests.OPENAI: 3}
    assert all(value > 0 for values in samples.values() for value in values)


def _roots(**variants: Path) -> task_roots.TaskRoots:
    return task_roots.TaskRoots(Path(sys.executable), "", dict(variants), "test", cached=True)


def test_a_worker_process_on_a_root_runs_checks_and_rounds(built: requests.Kinds) -> None:
    """The real driver and subprocess, on the working tree's runtime/ as its task root (this venv's
    botocore): the handler it reports is that root's, text-only requests leave the lazy modules unloaded."""
    roots = _roots(image=REPO / "runtime")
    kinds = (requests.NATIVE, requests.OPENAI)
    with surface_warm.Worker(roots, "image", built.setup(kinds)) as worker:
        answer = worker.ask({"op": "check", "kinds": list(kinds)})
        for kind in kinds:
            requests.check_reply(kind, answer[kind], built)
        assert not set(answer[requests.OPENAI]["modules"]) & set(surface_cold.LAZY_MODULES)
        assert answer[requests.OPENAI]["modules"] == worker.init_modules
        samples = worker.measure(kinds, 2, 0)
        blocks = worker.measure(kinds, 2, 1, blocks=True)
    assert {kind: len(values) for kind, values in blocks.items()} == {requests.NATIVE: 2, requests.OPENAI: 2}
    assert {kind: len(values) for kind, values in samples.items()} == {requests.NATIVE: 2, requests.OPENAI: 2}


def test_a_worker_that_cannot_start_reports_its_error(tmp_path: Path, built: requests.Kinds) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)the empty worker failed: .*bedrock_handler"):
        surface_warm.Worker(_roots(empty=tmp_path), "empty", built.setup((requests.NATIVE,)))


def test_the_lazy_modules_are_exactly_the_handlers_deferred_imports() -> None:
    deferred = set()
    for source in HANDLER.glob("*.py"):
        deferred |= set(re.findall(r"from bedrock_handler import (\w+)  # noqa: PLC0415", source.read_text()))
    assert {f"bedrock_handler.{name}" for name in deferred} == set(surface_cold.LAZY_MODULES)
    assert all((HANDLER / f"{name.rsplit('.', 1)[1]}.py").is_file() for name in surface_cold.LAZY_MODULES)


def _series(values: list[float]) -> surface_warm.Series:
    return surface_warm.Series(samples=values, round_medians=values)


def _readings(now: float, before: float) -> surface_warm.WarmReadings:
    text = {
        surface_warm.NOW: {kind: _series([now * (1 + i / 1000) for i in range(20)])
                           for kind in requests.TEXT_KINDS},
        "old": {kind: _series([before * (1 + i / 1000) for i in range(20)]) for kind in requests.TEXT_KINDS},
    }  # fmt: skip
    surface = {kind: _series([60.0 + i for i in range(20)]) for kind in requests.SURFACE_KINDS}
    return surface_warm.WarmReadings(text, surface, [], [], [], 100_000, 10, 10)


@pytest.mark.parametrize(("now", "verdict"), [(50.0, True), (55.0, False)])
def test_the_warm_verdict_follows_the_per_round_ratio(now: float, verdict: bool) -> None:
    section = surface_bench.warm_section(_readings(now, 50.0), "old")
    ratio_rows = [row for row in section.rows if row.metric.startswith("now / before")]
    assert len(ratio_rows) == len(requests.TEXT_KINDS)
    assert {row.passed for row in ratio_rows} == {verdict}


def test_sections_say_why_they_were_skipped() -> None:
    for section in (surface_bench.cold_section(None), surface_bench.warm_section(_readings(1, 1), None)):
        assert not section.rows
        assert surface_cold.SURFACE_COMMIT in render([section])


def test_the_surface_commit_is_in_this_history() -> None:
    commit = task_roots.commit_available(surface_cold.SURFACE_COMMIT)
    if commit is None:
        pytest.skip("no git history (a shallow clone or a source export)")
    assert commit.startswith(surface_cold.SURFACE_COMMIT)


def test_only_accepts_surface() -> None:
    assert "bench.surface_bench" in bench_main.MODULES
    assert "surface" in bench_main._short_names("bench.surface_bench")


@pytest.mark.slow  # pip installs the packages on the first run, then cached in bench/out/.task_roots
def test_the_root_before_the_surface_holds_that_commits_handler(built: requests.Kinds) -> None:
    """The `before` contender really runs the old handler on the image root's very packages, init imports
    none of the lazy modules now, and a worker on each root answers from its own handler."""
    commit = task_roots.commit_available(surface_cold.SURFACE_COMMIT)
    if commit is None:
        pytest.skip("no git history with the commit before the surface")
    roots = task_roots.prepare_at_commit(task_roots.prepare(), commit, surface_cold.PRE_SURFACE)
    image, before = roots.root("image"), roots.root(surface_cold.PRE_SURFACE)
    assert (image / "bedrock_handler" / "converse_request.py").is_file()
    assert not (before / "bedrock_handler" / "converse_request.py").exists()
    botocore_init = "botocore/__init__.py"
    assert (before / botocore_init).stat().st_ino == (image / botocore_init).stat().st_ino
    now_modules = surface_cold.init_modules(roots, "image")
    assert "bedrock_handler.app" in now_modules
    assert not set(now_modules) & set(surface_cold.LAZY_MODULES)
    assert "bedrock_handler.converse_request" not in surface_cold.init_modules(
        roots, surface_cold.PRE_SURFACE
    )
    lazy = surface_cold.lazy_imports(roots)
    assert list(lazy) == list(surface_cold.LAZY_MODULES)
    assert all(reading.seconds > 0 for reading in lazy.values())
    for variant in ("image", surface_cold.PRE_SURFACE):
        with surface_warm.Worker(roots, variant, built.setup(requests.TEXT_KINDS)) as worker:
            answer = worker.ask({"op": "check", "kinds": list(requests.TEXT_KINDS)})
            for kind in requests.TEXT_KINDS:
                requests.check_reply(kind, answer[kind], built)
