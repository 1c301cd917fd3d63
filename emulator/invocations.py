"""One invocation's state machine and the channel its response events flow through."""

from __future__ import annotations

import enum
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from streaming_runtime import wire

from emulator.invocation_log import InvocationLog


class RuntimeApiRequestError(Exception):
    """A Runtime API request Lambda would refuse; carries the status and error type to render."""

    status = 400
    error_type = "InvalidRequest"


class InvalidRequestID(RuntimeApiRequestError):  # noqa: N818 - Lambda's error name
    """The request id is unknown here or belongs to an invocation that was already answered."""

    status = 400
    error_type = "InvalidRequestID"


class InvalidStateTransition(RuntimeApiRequestError):  # noqa: N818 - Lambda's error name
    """The call is not allowed in the invocation's (or the environment's) current state."""

    status = 403
    error_type = "InvalidStateTransition"


class InvokeTimeout(InvalidStateTransition):
    """A /response or /error for an invocation that already timed out (Lambda Managed Instances' 410)."""

    status = 410
    error_type = "InvokeTimeout"


class InvalidResponseMode(RuntimeApiRequestError):  # noqa: N818 - Lambda's error name
    """Lambda-Runtime-Function-Response-Mode holds something other than "streaming"."""

    status = 400
    error_type = "InvalidFunctionResponseMode"


class TruncatedRequest(RuntimeApiRequestError):  # noqa: N818 - Lambda's error name
    """A request body that ended before its last chunk."""

    status = 400
    error_type = "TruncatedHTTPRequest"


class PayloadTooLarge(RuntimeApiRequestError):  # noqa: N818 - Lambda's error name
    """A buffered response larger than Lambda's 6 MB limit."""

    status = 413
    error_type = "RequestEntityTooLarge"


@dataclass(frozen=True, slots=True)
class ResponseStart:
    """The runtime began its response (buffered or streamed) with this Content-Type."""

    content_type: str
    streaming: bool


@dataclass(frozen=True, slots=True)
class BodyChunk:
    """Response body bytes, relayed as they arrived."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ResponseEnd:
    """The response finished; `error` holds mid-stream error trailers, `truncated` a cut-off body."""

    error: wire.StreamError | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class FunctionFailed:
    """The invocation failed (runtime /error, init error, timeout, crash)."""

    error_type: str
    message: str
    payload: Mapping[str, object] = field(default_factory=dict)


ResponseEvent = ResponseStart | BodyChunk | ResponseEnd | FunctionFailed

TIMED_OUT = "Sandbox.Timedout"  # the error type of an invocation the platform timed out


class State(enum.Enum):
    """Where an invocation is in its life."""

    PENDING = "pending"  # waiting for the runtime's GET /next
    RUNNING = "running"  # delivered; no answer yet
    RESPONDING = "responding"  # a /response is in flight
    DONE = "done"


class Invocation:
    """One request to the function: its event, deadline, state and response channel."""

    def __init__(self, *, payload: bytes, timeout_s: float, request_id: str | None = None) -> None:
        self.request_id = request_id or str(uuid.uuid4())
        self.payload = payload
        self.timeout_s = timeout_s
        self.deadline_ms = int((time.time() + timeout_s) * 1000)
        self.invocation_id = uuid.uuid4().hex
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        self.trace_id = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        self.delivered_at: float | None = None
        self.finished_at: float | None = None
        self.outcome: ResponseEvent | None = None
        self.log = InvocationLog()  # its execution log's tail (the Lambda API's LogResult)
        self._state = State.PENDING
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._events: queue.SimpleQueue[ResponseEvent] = queue.SimpleQueue()
        self._on_done: list[Callable[[Invocation], None]] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def timed_out(self) -> bool:
        """Whether the platform ended it for running past its timeout."""
        outcome = self.outcome
        return isinstance(outcome, FunctionFailed) and outcome.error_type == TIMED_OUT

    def add_done_callback(self, callback: Callable[[Invocation], None]) -> None:
        """Call `callback(self)` once the invocation is DONE (at once if it already is)."""
        with self._lock:
            if not self._done.is_set():
                self._on_done.append(callback)
                return
        callback(self)

    def mark_delivered(self) -> None:
        with self._lock:
            if self._state is State.PENDING:
                self._state = State.RUNNING
                self.delivered_at = time.monotonic()

    def begin_response(self, *, content_type: str, streaming: bool) -> None:
        """RUNNING -> RESPONDING, or InvalidStateTransition."""
        self._transition(State.RUNNING, State.RESPONDING)
        self._events.put(ResponseStart(content_type=content_type, streaming=streaming))

    def send_chunk(self, data: bytes) -> None:
        """Relay body bytes; InvokeTimeout once the invocation has timed out (the rest is not wanted)."""
        if self._state is State.RESPONDING:
            if data:
                self._events.put(BodyChunk(data))
        elif self.timed_out:
            raise InvokeTimeout(f"invocation {self.request_id} timed out")

    def end_response(self, *, error: wire.StreamError | None = None, truncated: bool = False) -> None:
        """RESPONDING -> DONE."""
        self._finish(ResponseEnd(error=error, truncated=truncated), allowed=(State.RESPONDING,))

    def post_error(self, failure: FunctionFailed) -> None:
        """The runtime's /error: RUNNING -> DONE, or InvalidStateTransition."""
        self._finish(failure, allowed=(State.RUNNING,))

    def fail(self, failure: FunctionFailed) -> bool:
        """The platform ends the invocation (timeout, crash, init error); False if already DONE."""
        try:
            self._finish(failure, allowed=(State.PENDING, State.RUNNING, State.RESPONDING))
        except InvalidStateTransition:
            return False
        return True

    def next_event(self, timeout: float) -> ResponseEvent | None:
        """The next response event, or None when none arrived within `timeout` seconds."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_done(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def _transition(self, source: State, target: State) -> None:
        with self._lock:
            if self._state is not source:
                self._refuse_if_timed_out()
                raise InvalidStateTransition(
                    f"invocation {self.request_id} is {self._state.value}, not {source.value}"
                )
            self._state = target

    def _finish(self, event: ResponseEvent, *, allowed: tuple[State, ...]) -> None:
        with self._lock:
            if self._state not in allowed:
                self._refuse_if_timed_out()
                raise InvalidStateTransition(f"invocation {self.request_id} is {self._state.value}")
            self._state = State.DONE
            self.finished_at = time.monotonic()
            self.outcome = event
            callbacks, self._on_done = self._on_done, []
            self._events.put(event)
            self._done.set()
        for callback in callbacks:
            callback(self)

    def _refuse_if_timed_out(self) -> None:
        if self.timed_out:
            raise InvokeTimeout(f"invocation {self.request_id} timed out")
