"""Drive async handlers and async iterables from the synchronous loop on one event loop per process."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    import asyncio
    from typing import Any


class AsyncBridge:
    """Owns the process's event loop, created on first use so sync-only handlers never import asyncio."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, awaitable: Awaitable[Any]) -> Any:
        """Run an awaitable (e.g. the coroutine of an `async def` handler) to completion."""
        return self._event_loop().run_until_complete(_await(awaitable))

    def iterate(self, iterable: AsyncIterable[Any]) -> Iterator[Any]:
        """A plain iterator over an async iterable; closing it closes (acloses) the async iterator too.

        Nothing runs until the first item is pulled, so even a failing `__aiter__` is reported as a
        handler error rather than escaping the runtime.
        """
        loop = self._event_loop()
        iterator = aiter(iterable)
        try:
            while True:
                done, item = loop.run_until_complete(_anext(iterator))
                if done:
                    return
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None and not loop.is_closed():
                loop.run_until_complete(aclose())

    def close(self) -> None:
        """Close the event loop, if one was created."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            import asyncio  # noqa: PLC0415 - imported lazily: asyncio costs start-up time most handlers never need

            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _anext(iterator: AsyncIterator[Any]) -> tuple[bool, Any]:
    # StopAsyncIteration is turned into a flag: letting it escape a Task would be reported as an error.
    try:
        return False, await iterator.__anext__()
    except StopAsyncIteration:
        return True, None
