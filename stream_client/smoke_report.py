"""The smoke test's report: one PASS, FAIL, SKIP or INFO line per check, what was sent, and the verdict
(the exit status is 0 only when no check failed)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Status = Literal["PASS", "FAIL", "SKIP", "INFO"]
_NAME_WIDTH = 15


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: a check's name, its status and what was seen (never a key or a prompt)."""

    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status} {self.name:<{_NAME_WIDTH}} {' '.join(self.detail.split())}"


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the smoke test prints: the target, the checks in order, and the requests it made."""

    heading: str
    checks: tuple[Check, ...]
    function_requests: int
    other_requests: int
    max_requests: int
    logs_calls: int

    @property
    def failed(self) -> bool:
        return any(check.status == "FAIL" for check in self.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def render(self) -> str:
        counts: Counter[str] = Counter(check.status for check in self.checks)
        summary = ", ".join(
            f"{counts[status]} {word}"
            for status, word in (
                ("PASS", "passed"),
                ("FAIL", "failed"),
                ("SKIP", "skipped"),
                ("INFO", "info"),
            )
        )
        other = f", {self.other_requests} to the emulator's /_emulator/metrics" if self.other_requests else ""
        return "\n".join(
            [
                self.heading,
                *(check.line() for check in self.checks),
                f"requests: {self.function_requests} to the function{other} "
                f"(at most {self.max_requests}); CloudWatch Logs API calls: {self.logs_calls}",
                f"result: {'FAIL' if self.failed else 'PASS'} ({summary})",
            ]
        )
