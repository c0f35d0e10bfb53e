"""Value classes for the charge path: equality, repr and immutability, without dataclasses.

Importing ``dataclasses`` (with inspect, ast, dis and tokenize) costs 11-25 ms of every
cold start of the charge function, measured under AWS's runtime client, which has not
imported them. So a value class declares each field once, as an annotation (the order of
its constructor, its repr and its comparisons), and these bases do the rest: ``_fields``
comes from the annotations (public names, ``ClassVar`` aside), and a class that writes no
``__init__`` of its own gets one taking its fields in order (a class attribute is the
field's default), as ``@dataclass`` would make it. A class whose constructor checks or
converts writes its own. Fields named in ``_hidden`` stay out of the repr (secrets).

Standard library only: this module is in the charge path.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ClassVar, NoReturn, dataclass_transform
else:

    def dataclass_transform(**_options: object) -> object:
        """The type checker's marker (PEP 681): at run time the bases do the work."""
        return lambda cls: cls


__all__ = ["FrozenValue", "Value"]


def _declared_fields(cls: type) -> tuple[str, ...]:
    annotations: dict[str, object] = cls.__dict__.get("__annotations__", {})
    return tuple(
        name
        for name, hint in annotations.items()
        if not name.startswith("_") and not str(hint).startswith("ClassVar")
    )


def _generated_init(cls: type, fields: tuple[str, ...]) -> Callable[..., None]:
    """``__init__(self, <fields>)`` setting each field, as namedtuple and dataclasses write
    theirs: from source, so that it has a real signature and runs at a function's speed."""
    defaults = {name: cls.__dict__[name] for name in fields if name in cls.__dict__}
    parameters = ", ".join(
        f"{name}=_defaults[{name!r}]" if name in defaults else name for name in fields
    )
    body = "".join(f"    _set(self, {name!r}, {name})\n" for name in fields)
    namespace: dict[str, object] = {"_defaults": defaults, "_set": object.__setattr__}
    exec(f"def __init__(self, {parameters}):\n{body}", namespace)  # noqa: S102 - our own source
    init = namespace["__init__"]
    assert callable(init)
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    return init


class _Record:
    """What both kinds of value class share: fields, their generated ``__init__``,
    ``==`` between instances of one class, and the repr."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()
    _getter: ClassVar[Callable[[object], tuple[object, ...]]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        fields = _declared_fields(cls)
        if not fields:  # an abstract base
            return
        if len(fields) < 2:  # attrgetter of one name gives the value, not a tuple
            raise TypeError(f"{cls.__name__}: a value class has two fields or more")
        cls._fields = fields
        cls._getter = attrgetter(*fields)  # their values as a tuple, in C
        if "__init__" not in cls.__dict__:
            setattr(cls, "__init__", _generated_init(cls, fields))  # noqa: B010 - mypy: a method

    def _values(self) -> tuple[object, ...]:
        return type(self)._getter(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, _Record)
            return self._values() == other._values()
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._fields if name not in self._hidden
        )
        return f"{type(self).__qualname__}({shown})"


@dataclass_transform(eq_default=True)
class Value(_Record):
    """A mutable record: ``==`` compares the fields of two instances of the same class;
    unhashable (like ``@dataclass``)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable: like a dataclass with eq


@dataclass_transform(eq_default=True, frozen_default=True)
class FrozenValue(_Record):
    """An immutable record (``@dataclass(frozen=True)``): hashable by its fields; its
    ``__init__`` sets them with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[type[FrozenValue], tuple[object, ...]]:
        # copy and pickle rebuild through __init__ (its parameters are ``_fields``).
        return (type(self), self._values())
