"""A Lambda Managed Instances execution environment: one runtime process serving up to N invocations at
once, where a timeout ends only the invocation that ran out of time."""

from __future__ import annotations

from emulator.concurrent_slot import ConcurrentSlot
from emulator.invocations import Invocation
from emulator.sandbox import Sandbox, log_timeout
from emulator.slot import EnvironmentSlot


class ManagedSandbox(Sandbox):
    """`--max-concurrency N`: the runtime gets AWS_LAMBDA_MAX_CONCURRENCY=N and N invocations at once."""

    def _new_slot(self) -> EnvironmentSlot:
        return ConcurrentSlot(self.config.max_concurrency or 1)

    def _on_timeout(self, invocation: Invocation) -> None:
        """The invocation's client gets Sandbox.Timedout; the runtime, serving others, lives on, and a
        late answer for this request id gets 410 InvokeTimeout."""
        if invocation.done:
            return
        if self.slot.first_next_at is None:
            # The runtime never got through its init: reset it, as the classic timeout does.
            super()._on_timeout(invocation)
            return
        invocation.fail(log_timeout(invocation))
