"""Value classes for the charge path: equality, repr and immutability, without dataclasses.

Importing ``dataclasses`` (with inspect, ast, dis and tokenize) and building a dozen
classes with it took ~10 ms of every cold start of the charge function. A subclass here
lists its fields in ``_fields`` (the order of its constructor, its repr and its
comparisons), stores them in ``__slots__`` and writes its own ``__init__``; it then
compares, hashes and shows itself as the equivalent dataclass did. Fields named in
``_hidden`` stay out of the repr (secrets).

Standard library only: this module is on the charge path.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ClassVar, NoReturn

__all__ = ["FrozenValue", "Value"]


class Value:
    """A mutable record: ``==`` compares the fields of two instances of the same class;
    unhashable (like ``@dataclass``)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()
    _getter: ClassVar[Callable[[object], tuple[object, ...]]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if cls._fields:  # not an abstract base
            if len(cls._fields) < 2:  # attrgetter of one name gives the value, not a tuple
                raise TypeError(f"{cls.__name__}: a value class lists two fields or more")
            cls._getter = attrgetter(*cls._fields)  # their values as a tuple, in C

    def _values(self) -> tuple[object, ...]:
        return type(self)._getter(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Value)
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable: like a dataclass with eq

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._fields if name not in self._hidden
        )
        return f"{type(self).__qualname__}({shown})"


class FrozenValue(Value):
    """An immutable record (``@dataclass(frozen=True)``): hashable by its fields; its
    ``__init__`` sets them with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")

    def __hash__(self) -> int:  # type: ignore[override]  # Value's is None: it is mutable
        return hash(self._values())

    def __reduce__(self) -> tuple[type[FrozenValue], tuple[object, ...]]:
        # copy and pickle rebuild through __init__ (its parameters are ``_fields``).
        return (type(self), self._values())
