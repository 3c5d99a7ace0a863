"""``core.record``: records behave as the frozen dataclasses they replace on start-up paths.

Each behaviour is checked against a real ``dataclasses.dataclass`` of the same shape
where the two should agree (construction, equality, hashing, ``repr``, ``replace``),
and on its own where a record differs on purpose (its frozen error type).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from typing import ClassVar, cast

import pytest

from mar_tools.core.record import FrozenRecordError, field, fields, record, replace


@record
class Point:
    """A record with a required field, a default and a factory."""

    x: int
    label: str = "p"
    tags: list[str] = field(default_factory=list)
    KIND: ClassVar[str] = "point"


@dataclasses.dataclass(frozen=True)
class DataPoint:
    """The same shape as :class:`Point`, as the standard library builds it."""

    x: int
    label: str = "p"
    tags: list[str] = dataclasses.field(default_factory=list)
    KIND: ClassVar[str] = "point"


@record
class Tagged:
    """A record with a field left out of comparison and of the repr."""

    name: str
    cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@record(frozen=False)
class Counter:
    """A mutable record."""

    count: int = 0


@record
class Point3(Point):
    """A record extending another."""

    z: int = 0


def test_construction_matches_a_dataclass() -> None:
    cases: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((1,), {}),
        ((2, "q"), {}),
        ((3,), {"tags": ["a"]}),
        ((), {"x": 4}),
    ]
    for args, kwargs in cases:
        ours, theirs = Point(*args, **kwargs), DataPoint(*args, **kwargs)  # type: ignore[arg-type]
        assert (ours.x, ours.label, ours.tags) == (theirs.x, theirs.label, theirs.tags)
        assert repr(ours) == repr(theirs).replace("DataPoint", "Point")


def test_a_factory_gives_each_record_its_own_value() -> None:
    first, second = Point(1), Point(1)
    assert first.tags == [] and first.tags is not second.tags


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, "a", [], 4), {}), ((1,), {"y": 2}), ((1,), {"x": 2})],
    ids=["missing", "too many", "unknown name", "given twice"],
)
def test_bad_arguments_are_type_errors_like_a_dataclass(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(TypeError):
        DataPoint(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_frozen_records_refuse_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenRecordError, match="'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.label
    assert point.x == 1 and point.label == "p"


def test_equality_and_hash_follow_the_compared_fields() -> None:
    assert Point(1, "a", ["t"]) == Point(1, "a", ["t"])
    assert Point(1) != Point(2)
    assert Point(1) != cast(object, DataPoint(1))
    assert Point(1) != Point3(1)
    with pytest.raises(TypeError, match="list"):
        hash(Point(1))  # a list field makes it unhashable, as in a dataclass
    assert hash(Point3(1, "a", cast(list[str], ()))) == hash(Point3(1, "a", cast(list[str], ())))
    assert hash(Tagged("n", {"a": 1})) == hash(Tagged("n"))
    assert Tagged("n", {"a": 1}) == Tagged("n")
    assert repr(Tagged("n", {"a": 1})) == "Tagged(name='n')"
    assert len({Tagged("n"), Tagged("n"), Tagged("m")}) == 2


def test_a_mutable_record_assigns_and_is_unhashable() -> None:
    counter = Counter()
    counter.count += 1
    assert counter == Counter(1)
    with pytest.raises(TypeError):
        hash(counter)


def test_inheritance_appends_fields_in_order() -> None:
    point = Point3(1, "b", [], 5)
    assert [item.name for item in fields(point)] == ["x", "label", "tags", "z"]
    assert point.z == 5 and Point3(1).z == 0
    assert Point3.__match_args__ == ("x", "label", "tags", "z")
    match point:
        case Point3(1, "b", _, z):
            assert z == 5
        case _:
            pytest.fail("a record's positional pattern did not match")


def test_replace_matches_dataclasses_replace() -> None:
    ours = replace(Point(1, "a"), label="b")
    theirs = dataclasses.replace(DataPoint(1, "a"), label="b")
    assert (ours.x, ours.label) == (theirs.x, theirs.label) == (1, "b")
    with pytest.raises(TypeError, match="'nope'"):
        replace(Point(1), nope=3)


def test_class_variables_and_declared_methods_are_left_alone() -> None:
    @record
    class Custom:
        value: int
        LIMIT: ClassVar[int] = 3

        def __repr__(self) -> str:
            return f"<{self.value}>"

    assert [item.name for item in fields(Custom)] == ["value"]
    assert repr(Custom(4)) == "<4>" and Custom.LIMIT == 3


def test_a_required_field_after_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="'b'"):

        @record
        class Broken:
            a: int = 1
            b: int  # type: ignore[misc]


def test_records_copy_and_pickle() -> None:
    point = Point(1, "a", ["t"])
    assert pickle.loads(pickle.dumps(point)) == point
    clone = copy.deepcopy(point)
    assert clone == point and clone.tags is not point.tags


def test_fields_of_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        fields(DataPoint(1))


def test_importing_records_does_not_import_dataclasses() -> None:
    code = (
        "import sys\n"
        "from mar_tools.core.record import record\n"
        "@record\n"
        "class R:\n"
        "    a: int\n"
        "assert R(1) == R(1)\n"
        "print('dataclasses' in sys.modules, 'inspect' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_init_is_compiled_when_the_first_instance_is_made() -> None:
    @record
    class Late:
        a: int
        b: str = "b"

    class Plain(Late):
        """A subclass made first: the compiled ``__init__`` goes on the record class."""

    stub = Late.__dict__["__init__"]
    assert Plain(1).b == "b"
    compiled = Late.__dict__["__init__"]
    assert compiled is not stub and "__init__" not in Plain.__dict__
    assert compiled.__code__.co_varnames[:3] == ("self", "a", "b")
    assert compiled.__qualname__ == stub.__qualname__ == f"{Late.__qualname__}.__init__"
    assert Late(2, "c") == Late(a=2, b="c") and Late.__dict__["__init__"] is compiled
