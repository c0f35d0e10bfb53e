"""Value classes declare each field once, as an annotation; the bases give them their
``_fields``, an ``__init__`` where they write none, equality, hashing and repr."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import pkgutil

import pytest

import cardline.cde
from cardline.cde.values import FrozenValue, Value


class Point(FrozenValue):
    x: int
    y: int = 0


class Box(Value):
    width: int
    height: int
    secret: str = ""
    _hidden = frozenset({"secret"})


def test_the_fields_come_from_the_annotations_and_make_the_constructor() -> None:
    assert Point._fields == ("x", "y")
    assert Point(1) == Point(1, 0) == Point(x=1, y=0)
    assert Point(1) != Point(2)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_a_frozen_value_cannot_change_and_copies_through_its_constructor() -> None:
    point = Point(3, 4)
    with pytest.raises(AttributeError):
        point.x = 5  # type: ignore[misc]
    assert copy.copy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point  # noqa: S301 - our own bytes


def test_a_mutable_value_compares_by_fields_and_hides_what_it_is_told_to() -> None:
    box = Box(1, 2, secret="s3cret")
    assert box == Box(1, 2, "s3cret")
    box.width = 5
    assert box != Box(1, 2, "s3cret")
    assert "s3cret" not in repr(box)
    assert repr(box) == "Box(width=5, height=2)"
    with pytest.raises(TypeError):
        hash(box)


def test_no_value_class_of_the_cde_lists_its_fields_a_second_time() -> None:
    classes = []
    for info in pkgutil.walk_packages(cardline.cde.__path__, "cardline.cde."):
        module = importlib.import_module(info.name)
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Value | FrozenValue)
            and value.__module__ == module.__name__
            and module.__name__ != "cardline.cde.values"
        ]
    assert len(classes) >= 10
    for cls in classes:
        source = inspect.getsource(cls)
        assert "_fields =" not in source, cls  # derived from the annotations
        assert "__slots__ =" not in source, cls  # a second list of the same names
        assert cls._fields, cls
