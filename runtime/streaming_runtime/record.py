"""`Record`: the base of the runtime's small immutable value types (slots, equality, repr, no setters).

The runtime's value types are not dataclasses because `import dataclasses` pulls in `inspect` (and with
it `ast`, `dis` and `tokenize`): a large share of the runtime's own start-up, paid on every cold start
before the first `GET /next` (measured in docs/performance.md). A subclass lists its fields in
`__slots__` (with class-level annotations for type checkers) and assigns them in a typed `__init__`
through `_assign`; equality, hashing and repr then follow the fields, as a frozen dataclass's do.
"""

from __future__ import annotations


class Record:
    """Immutable, slotted value object; subclasses declare `__slots__` and assign through `_assign`."""

    __slots__: tuple[str, ...] = ()

    def _assign(self, **values: object) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, Record):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
