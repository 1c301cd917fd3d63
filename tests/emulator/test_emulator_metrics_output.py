"""emulator/runtime_output.py over a real pipe: every line reaches the emulator's stderr unchanged and at
once, EMF document lines also reach the summary, and partial, overlong and unparsable lines never stop it."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.runtime_output import MAX_LINE_BYTES, PIPE_BYTES, OutputRouting, RuntimeOutput

DOCUMENT = b'{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Requests":1}\n'


class Pipe:
    """A real pipe: `read_fd` is its read end, `write` and `close` act on the runtime's write end, and each
    reader `start` made gets a write end of its own (the emulator's, for sync markers), closed with it."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.outputs: list[RuntimeOutput] = []
        self._closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view) :]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.write_fd)
            for output in self.outputs:
                output.close_writer()


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    made = Pipe()
    try:
        yield made
    finally:
        made.close()


def start(
    pipe: Pipe, *, on_document: Callable[[bytes], None] | None = None, log_documents: bool = True
) -> tuple[RuntimeOutput, list[bytes]]:
    """A reader of `pipe`; the document lines it hands over (to `on_document` when given)."""
    documents: list[bytes] = []
    routing = OutputRouting(on_document=on_document or documents.append, log_documents=log_documents)
    output = RuntimeOutput(pipe.read_fd, os.dup(pipe.write_fd), name="test-output", routing=routing)
    pipe.outputs.append(output)
    return output, documents


def test_lines_are_copied_unchanged_and_documents_handed_over(
    pipe: Pipe, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    output, documents = start(pipe)
    sent = b"[INFO]\tplain line \xff\xfe not UTF-8\n" + DOCUMENT + b'  {"_aws": indented is no document\n'
    pipe.write(sent + b"last words without a newline")
    pipe.close()
    assert output.join(5)
    assert capfdbinary.readouterr().err == sent + b"last words without a newline\n"
    assert documents == [DOCUMENT]


def test_a_partial_document_at_the_end_is_handed_over_with_a_newline(
    pipe: Pipe, capfd: pytest.CaptureFixture[str]
) -> None:
    output, documents = start(pipe)
    pipe.write(DOCUMENT + b'{"_aws":{"Timest')
    pipe.close()
    assert output.join(5)
    assert documents == [DOCUMENT, b'{"_aws":{"Timest\n']
    assert capfd.readouterr().err == (DOCUMENT + b'{"_aws":{"Timest\n').decode()


def test_each_line_is_in_the_log_before_the_next_is_written(
    pipe: Pipe, capfd: pytest.CaptureFixture[str]
) -> None:
    output, _ = start(pipe)
    for index in range(3):
        pipe.write(f"line {index}\n".encode())
        deadline = time.monotonic() + 5
        seen = ""
        while f"line {index}\n" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
            seen += capfd.readouterr().err
        assert seen == f"line {index}\n"  # flushed per line, nothing held back for the next one
    pipe.close()
    assert output.join(5)


def test_documents_can_stay_out_of_the_log(pipe: Pipe, capfd: pytest.CaptureFixture[str]) -> None:
    output, documents = start(pipe, log_documents=False)
    pipe.write(b"before\n" + DOCUMENT + b"after\n")
    pipe.close()
    assert output.join(5)
    assert capfd.readouterr().err == "before\nafter\n"
    assert documents == [DOCUMENT]


def test_an_overlong_line_is_copied_in_pieces_and_only_its_start_is_a_document(
    pipe: Pipe, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    output, documents = start(pipe)
    long_line = b'{"_aws":' + b"x" * (MAX_LINE_BYTES + 100) + b"\n"
    pipe.write(long_line + DOCUMENT)  # more than the pipe holds: the reader drains it meanwhile
    pipe.close()
    assert output.join(10)
    assert capfdbinary.readouterr().err == long_line + DOCUMENT
    assert [len(document) for document in documents] == [MAX_LINE_BYTES, len(DOCUMENT)]


def test_a_failing_summary_does_not_stop_the_reading(
    pipe: Pipe, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(line: bytes) -> None:
        raise RuntimeError("bug")

    output, _ = start(pipe, on_document=broken)
    pipe.write(DOCUMENT + b"still read\n")
    pipe.close()
    assert output.join(5)
    assert capfd.readouterr().err == DOCUMENT.decode() + "still read\n"
    assert "could not count an EMF document" in caplog.text


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="Linux only")
def test_the_pipe_is_enlarged(pipe: Pipe) -> None:
    output, _ = start(pipe)
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    assert fcntl.fcntl(pipe.write_fd, fcntl.F_GETPIPE_SZ) == min(PIPE_BYTES, limit)
    pipe.close()
    assert output.join(5)


def test_sync_returns_once_the_lines_written_before_it_are_routed(
    pipe: Pipe, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    lines: list[bytes] = []
    routing = OutputRouting(on_line=lines.append)
    output = RuntimeOutput(pipe.read_fd, os.dup(pipe.write_fd), name="test-output", routing=routing)
    pipe.outputs.append(output)
    for round_number in range(50):
        written = [b"line %d.%d\n" % (round_number, index) for index in range(20)]
        pipe.write(b"".join(written))
        assert output.sync(5)
        assert lines[-20:] == written  # every one of them already routed, the marker in none
    pipe.close()
    assert output.join(5)
    assert b"emulator-sync" not in capfdbinary.readouterr().err
    assert output.sync(0.01)  # after the end: nothing to wait for


def test_a_sync_marker_inside_a_line_is_cut_out_and_the_line_joined() -> None:
    data = b"first half\x00\x01emulator-sync:7\n of a line\nnext\x00\x01emulator-sync:8\n"
    assert RuntimeOutput._cut_markers(data) == (b"first half of a line\nnext", [7, 8])
    assert RuntimeOutput._cut_markers(b"plain\n") == (b"plain\n", [])
