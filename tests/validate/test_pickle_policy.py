"""The rules of the pickle policy, one by one, and the archive's own classes in real archives."""

from __future__ import annotations

import io
import pickle
import random
import runpy
import tarfile
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.pickle import reader as reader_module
from mar_tools.validate.pickle.assessment import MAX_PROBLEMS
from mar_tools.validate.pickle.ops import scan_pickles
from mar_tools.validate.pickle.scan import scan_member
from mar_tools.validate.pickle.torch_names import NN_CLASSES, NN_FUNCTIONS, STORAGES
from tests.validate.builders import check, codes, members, write_zip
from tests.validate.pickle_asm import (
    BUILD,
    EMPTY_DICT,
    EMPTY_TUPLE,
    NEWOBJ,
    NONE,
    REDUCE,
    binbytes,
    call,
    legacy_tar,
    p2,
    p4,
    stack_global,
    text_global,
    torch_zip,
    tup,
    uni,
)
from tests.validate.pickle_corpus import CORPUS, os_system
from tests.validate.pickle_legit import Legit, model_module

ROOT = Path(__file__).resolve().parents[2]


def problems(data: bytes) -> list[tuple[str, str]]:
    return [(p.code, p.message) for p in scan_pickles(io.BytesIO(data)).problems]


def found(name: str, data: bytes) -> set[str]:
    return {f.code for f in scan_member(name, io.BytesIO(data), seekable=True)}


# --- uses ------------------------------------------------------------------------------
def test_a_class_rebuilt_by_newobj_may_not_be_called() -> None:
    linear = text_global("torch.nn.modules.linear", "Linear")
    assert problems(p2(linear + EMPTY_TUPLE + NEWOBJ)) == []
    [(code, message)] = problems(p2(call(linear, b"K\x02", b"K\x02")))
    assert code == "pickle.unlisted-global"
    assert "rebuilt without its constructor" in message


def test_a_value_may_not_be_called() -> None:
    [(code, message)] = problems(p2(call(text_global("torch", "float32"))))
    assert code == "pickle.unlisted-global" and "only have passed" in message


def test_inst_and_obj_without_arguments_build_like_newobj() -> None:
    assert problems(b"(itorch.nn.modules.linear\nLinear\n.") == []
    assert problems(b"(ctorch.nn.modules.linear\nLinear\no.") == []
    assert problems(b"(K\x02itorch.nn.modules.linear\nLinear\n.")[0][0] == (
        "pickle.unlisted-global"
    )


def test_python2_names_are_mapped_only_below_protocol_3() -> None:
    py2_set = call(text_global("__builtin__", "set"))
    assert problems(p2(py2_set)) == []
    assert problems(b"\x80\x03" + py2_set + b".")[0][0] == "pickle.unlisted-global"


def test_an_imported_global_counts_even_when_never_called() -> None:
    [(code, message)] = problems(p2(EMPTY_DICT + uni("k") + text_global("mylib", "hook") + b"s"))
    assert code == "pickle.unlisted-global" and message.startswith("imports mylib.hook")


@pytest.mark.parametrize(
    ("factory", "ok"),
    [(NONE, True), (text_global("builtins", "list"), True), (text_global("torch", "int8"), False)],
)
def test_defaultdict_factories_must_be_callable(factory: bytes, ok: bool) -> None:
    result = problems(p2(call(text_global("collections", "defaultdict"), factory)))
    assert (result == []) == ok, result


def test_arguments_that_get_called_must_be_written_out() -> None:
    rebuild = text_global("torch._tensor", "_rebuild_from_type_v2")
    made = call(text_global("collections", "OrderedDict"))
    result = problems(p2(rebuild + made + REDUCE))
    assert [code for code, _ in result] == ["pickle.unsafe-operation"]
    computed = problems(p2(call(rebuild, made, text_global("torch", "Tensor"), EMPTY_TUPLE)))
    assert [code for code, _ in computed] == ["pickle.unsafe-operation"]


def test_changing_a_global_is_refused_but_changing_what_was_built_is_not() -> None:
    ordered = text_global("collections", "OrderedDict")
    assert problems(p2(call(ordered) + EMPTY_DICT + BUILD)) == []
    assert problems(p2(call(ordered) + uni("k") + uni("v") + b"s")) == []
    assert problems(p2(ordered + uni("k") + uni("v") + b"s"))[0][0] == "pickle.unsafe-operation"
    assert problems(p2(ordered + EMPTY_DICT + BUILD))[0][0] == "pickle.unsafe-operation"


def test_calling_a_persistent_object_is_refused() -> None:
    data = p2(tup(uni("storage")) + b"Q" + EMPTY_TUPLE + REDUCE)
    assert problems(data)[0][0] == "pickle.unsafe-operation"


def test_problems_are_capped() -> None:
    body = b"".join(text_global(f"mylib{i}", "x") + b"0" for i in range(MAX_PROBLEMS + 7))
    result = problems(p2(body + NONE))
    assert len(result) == MAX_PROBLEMS
    assert result[-1][1].endswith("(7 more problems in this pickle are not listed.)")


# --- nested torch files ----------------------------------------------------------------------
def _loads(inner: bytes) -> bytes:
    return p4(call(stack_global("torch.storage", "_load_from_bytes"), binbytes(torch_zip(inner))))


def test_nested_torch_files_are_followed_two_deep() -> None:
    assert found("x.pkl", _loads(p2(EMPTY_DICT))) == set()
    assert found("x.pkl", _loads(_loads(os_system("m")))) == {"pickle.dangerous-global"}
    too_deep = found("x.pkl", _loads(_loads(_loads(p2(EMPTY_DICT)))))
    assert too_deep == {"pickle.unsafe-operation"}


def test_calls_forwarded_by_rebuild_functions_are_checked() -> None:
    rebuild = stack_global("torch._tensor", "_rebuild_from_type_v2")
    tensor = stack_global("torch", "Tensor")
    loads = stack_global("torch.storage", "_load_from_bytes")
    clean = p4(call(rebuild, loads, tensor, tup(binbytes(torch_zip(p2(EMPTY_DICT)))), EMPTY_DICT))
    assert found("x.pkl", clean) == set()
    computed = p4(call(rebuild, loads, tensor, tup(call(stack_global("builtins", "bytes"))),
                       EMPTY_DICT))  # fmt: skip
    assert found("x.pkl", computed) == {"pickle.unsafe-operation"}
    nested = tup(loads, tensor, tup(binbytes(torch_zip(p2(EMPTY_DICT)))), EMPTY_DICT)
    for _ in range(5):
        nested = tup(rebuild, tensor, nested, EMPTY_DICT)
    assert found("x.pkl", p4(rebuild + nested + REDUCE)) == {"pickle.unsafe-operation"}


# --- legacy tar --------------------------------------------------------------------------------
def test_legacy_tar_links_and_polyglots_are_refused() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("pickle")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    assert found("w.pt", buffer.getvalue()) == {"pickle.unscannable"}
    polyglot = bytearray(legacy_tar(obj=p2(EMPTY_DICT)))
    polyglot[0:2] = b"\x80\x02"  # the first member's name now starts like a pickle
    polyglot[148:156] = b"%06o\x00 " % (sum(polyglot[:148]) + 256 + sum(polyglot[156:512]))
    assert "pickle.unscannable" in found("w.pt", bytes(polyglot))


def test_tar_files_without_torch_members_have_nothing_to_scan() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    assert found("w.pt", buffer.getvalue()) == set()


# --- reading -----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_results_do_not_depend_on_chunk_size(
    chunk: int, monkeypatch: pytest.MonkeyPatch, legit: list[Legit]
) -> None:
    samples = [(f"x{p.suffix}", p.build("m")) for p in CORPUS[::5]]
    samples += [(item.name, item.data) for item in legit[::4]]
    expected = [scan_member(name, io.BytesIO(data), seekable=True) for name, data in samples]
    monkeypatch.setattr(reader_module, "CHUNK", chunk)
    for (name, data), wanted in zip(samples, expected, strict=True):
        assert scan_member(name, io.BytesIO(data), seekable=True) == wanted, name


def test_the_generated_torch_names_cover_the_installed_torch() -> None:
    generator: dict[str, Any] = runpy.run_path(str(ROOT / "dev" / "torch_names.py"))
    for module, names in generator["nn_classes"]().items():
        assert set(names) <= set(NN_CLASSES.get(module, "").split()), module
    for module, names in generator["nn_functions"]().items():
        assert set(names) <= set(NN_FUNCTIONS.get(module, "").split()), module
    assert generator["storages"]().items() <= STORAGES.items()


# --- the archive's own classes -------------------------------------------------------------------
SINGLE_CLASS = """\
import os

import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(2, 2)
"""


def _whole_model(module: str = "model") -> bytes:
    import torch

    with model_module(module, SINGLE_CLASS) as model:
        buffer = io.BytesIO()
        torch.save(model.Net(), buffer)
        return buffer.getvalue()


def test_a_whole_model_of_the_archive_model_file_is_valid(tmp_path: Path, weights: bytes) -> None:
    files = members(weights, model_py=SINGLE_CLASS.encode(), weights_pt=_whole_model())
    result = check(write_zip(tmp_path / "m.mar", files))
    assert codes(result) == {"pickle.non-weights-global"}, result.findings


def test_a_class_the_archive_does_not_define_is_refused(tmp_path: Path, weights: bytes) -> None:
    files = members(weights, model_py=SINGLE_CLASS.encode(), weights_pt=_whole_model("other"))
    result = check(write_zip(tmp_path / "m.mar", files))
    assert "pickle.unlisted-global" in codes(result)
    renamed = SINGLE_CLASS.replace("class Net", "class Other").encode()
    files = members(weights, model_py=renamed, weights_pt=_whole_model())
    assert "pickle.unlisted-global" in codes(check(write_zip(tmp_path / "r.mar", files)))


def test_classes_of_packages_in_the_archive_are_trusted(tmp_path: Path, weights: bytes) -> None:
    files = members(weights)
    files["pkg/__init__.py"] = b""
    files["pkg/layers.py"] = b"class Block:\n    pass\n"
    files["extra.pkl"] = p2(text_global("pkg.layers", "Block") + EMPTY_TUPLE + NEWOBJ)
    assert codes(check(write_zip(tmp_path / "m.mar", files))) == set()
    files["extra.pkl"] = p2(text_global("pkg.layers", "Missing") + EMPTY_TUPLE + NEWOBJ)
    assert "pickle.unlisted-global" in codes(check(write_zip(tmp_path / "x.mar", files)))


def test_archive_modules_named_like_installed_ones_are_not_trusted(
    tmp_path: Path, weights: bytes
) -> None:
    files = members(weights)
    files["subprocess.py"] = b"class Popen:\n    pass\n"
    files["torch.py"] = b"class load:\n    pass\n"
    files["a.pkl"] = p2(call(text_global("subprocess", "Popen"), uni("id")))
    files["b.pkl"] = p2(call(text_global("torch", "load"), uni("x")))
    found_codes = [
        (f.location.member, f.code) for f in check(write_zip(tmp_path / "m.mar", files)).findings
    ]
    assert ("a.pkl", "pickle.dangerous-global") in found_codes
    assert ("b.pkl", "pickle.dangerous-global") in found_codes


def test_only_the_classes_themselves_are_trusted(tmp_path: Path, weights: bytes) -> None:
    files = members(weights, model_py=SINGLE_CLASS.encode())
    files["a.pkl"] = p4(call(stack_global("model", "os.system"), uni("id")))
    files["b.pkl"] = p4(call(stack_global("model", "Net.__init__"), NONE))
    files["c.pkl"] = p4(call(stack_global("model", "torch"), NONE))
    result = check(write_zip(tmp_path / "m.mar", files))
    by_member = {f.location.member: f.code for f in result.findings}
    assert by_member == {
        "a.pkl": "pickle.dangerous-global",
        "b.pkl": "pickle.unlisted-global",
        "c.pkl": "pickle.unlisted-global",
    }


def test_whole_pickled_modules_need_no_model_file_for_torch_classes(weights: bytes) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), buffer)
    assert found("w.pt", buffer.getvalue()) == {"pickle.non-weights-global"}
    assert found("w.pkl", pickle.dumps(torch.nn.Linear(2, 2), protocol=2)) == set()


# --- robustness ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_mutated_corpus_files_never_crash_the_scan(legit: list[Legit]) -> None:
    """Random byte changes in every kind of file (zip, tar, legacy, nested) give findings or
    nothing, never an exception."""
    rng = random.Random(11)
    samples = [(f"x{p.suffix}", p.build("m")) for p in CORPUS]
    samples += [(item.name, item.data) for item in legit if len(item.data) < 200_000]
    for round_ in range(1500):
        name, data = samples[round_ % len(samples)]
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(mutated))
            mutated[position] = rng.randrange(256)
        if rng.random() < 0.2:
            mutated = mutated[: rng.randrange(1, len(mutated))]
        scan_member(name, io.BytesIO(bytes(mutated)), seekable=True)
        scan_member(name, io.BufferedReader(io.BytesIO(bytes(mutated))), seekable=False)
