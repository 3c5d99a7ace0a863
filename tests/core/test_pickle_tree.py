"""The inert pickle evaluator: plain data comes back as itself, globals and calls as records
(never imported, never run), and malformed or oversized pickles are refused."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mar_tools.core.pickle.scalars import SKIPPED
from mar_tools.core.pickle.tree import (
    Call,
    DictValue,
    Limits,
    Malformed,
    Persistent,
    Ref,
    load_tree,
    open_reader,
)


def tree(data: bytes, limits: Limits | None = None) -> object:
    return load_tree(open_reader(io.BytesIO(data), limits), limits)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
plain = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(plain, st.integers(min_value=0, max_value=5))
def test_plain_data_comes_back_as_itself(value: object, protocol: int) -> None:
    assert tree(pickle.dumps(value, protocol)) == value


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_bytes_and_large_strings(protocol: int) -> None:
    data = pickle.dumps([b"xy", "z" * 100_000, b"w" * 100_000], protocol)
    assert tree(data) == [b"xy", SKIPPED, SKIPPED]


class _Runs:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("protocol", range(6))
def test_a_call_is_recorded_never_made(protocol: int, tmp_path: object) -> None:
    value = tree(pickle.dumps({"x": _Runs()}, protocol))
    assert isinstance(value, DictValue)
    call = value["x"]
    assert isinstance(call, Call)
    assert call.callee == Ref("posix", "system") and call.args == ("touch pwned",)


def test_evaluating_imports_nothing() -> None:
    """A pickle naming a module that does not exist evaluates fine in a fresh interpreter,
    which then has not imported it."""
    data = b"\x80\x02cno_such_module\nboom\nq\x00)\x81q\x01}b."
    code = (
        "import io, sys; from mar_tools.core.pickle.tree import load_tree, open_reader;"
        f"v = load_tree(open_reader(io.BytesIO({data!r})));"
        "print(v.name, 'no_such_module' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "no_such_module.boom False\n"


def test_ordered_dict_state_and_persistent_ids() -> None:
    class Saver(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            return ("storage", "0", len(obj)) if isinstance(obj, bytearray) else None

    stored: OrderedDict[str, object] = OrderedDict(w=bytearray(b"1"))
    stored._metadata = {"": {"version": 1}}  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    Saver(buffer, protocol=2).dump(stored)
    value = tree(buffer.getvalue())
    assert isinstance(value, DictValue)
    assert value == {"w": Persistent(("storage", "0", 1))}
    assert value.state == {"_metadata": {"": {"version": 1}}}


def test_cycles_are_kept_as_shared_values() -> None:
    loop: list[object] = []
    loop.append(loop)
    value = tree(pickle.dumps(loop, 4))
    assert isinstance(value, list) and value[0] is value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x02", "unexpected end of data"),
        (b"\xff.", "unknown opcode 0xff"),
        (b"\x80\x02h\x05.", "memo key 5 was never stored"),
        (b"\x80\x02a.", "stack underflow"),
        (b"\x80\x02e.", "no MARK on the stack"),
    ],
)
def test_malformed_pickles(data: bytes, message: str) -> None:
    with pytest.raises(Malformed, match=message):
        tree(data)


def test_limits_on_size_and_values() -> None:
    with pytest.raises(Malformed, match="longer than 100 bytes"):
        tree(pickle.dumps(list(range(1000)), 4), Limits(max_bytes=100))
    many = b"\x80\x04" + b"]" * 50 + b"."
    with pytest.raises(Malformed, match="more than 10 values"):
        tree(many, Limits(max_values=10))
