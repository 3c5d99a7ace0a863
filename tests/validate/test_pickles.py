"""The pickle scanner: opcodes of every protocol, torch's formats, every way the file is read."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from mar_tools.validate.pickle import scan as pickles
from mar_tools.validate.pickle import torch_zip
from mar_tools.validate.pickle.ops import scan_pickles
from mar_tools.validate.pickle.policy import Trust, reaches, uses_of
from mar_tools.validate.pickle.scan import scan_member
from mar_tools.validate.pickle.sniffing import BLOCK
from tests.validate.builders import (
    RunsCommand,
    TorchFiles,
    check,
    codes,
    evil_pickle,
    members,
    write_dir,
    write_tgz,
    write_zip,
)


def globals_of(data: bytes) -> list[str]:
    return [f"{g.module}.{g.name}" for g in scan_pickles(io.BytesIO(data)).globals]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_globals_are_found_in_every_protocol(protocol: int) -> None:
    data = pickle.dumps([os.getcwd, os.system], protocol=protocol)
    assert globals_of(data) == ["posix.getcwd", "posix.system"]


def test_stack_global_operands_fetched_from_the_memo_are_resolved() -> None:
    data = pickle.dumps([os.getcwd, os.system], protocol=4)
    assert b"h" in data[data.index(b"getcwd") :]  # 'posix' comes back through BINGET
    assert globals_of(data)[-1] == "posix.system"


def test_inst_opcode_names_its_class() -> None:
    data = b"(ios\nsystem\np0\n."
    assert globals_of(data) == ["os.system"]


def test_extension_codes_and_computed_operands_are_hidden_imports() -> None:
    scan = scan_pickles(io.BytesIO(b"\x80\x02\x82\x01."))
    assert [reason for reason, _ in scan.hidden] == ["EXT1 extension code 1"]
    computed = b"\x80\x04N\x8c\x06system\x93."
    scan = scan_pickles(io.BytesIO(computed))
    assert scan.hidden == [("STACK_GLOBAL with computed operands", 11)]


def test_consecutive_pickles_are_all_read(torch_files: TorchFiles) -> None:
    scan = scan_pickles(io.BytesIO(torch_files.legacy))
    assert scan.pickles == 5 and scan.error is None
    assert "torch._utils._rebuild_tensor_v2" in [f"{g.module}.{g.name}" for g in scan.globals]


def test_large_arguments_are_skipped_not_misread() -> None:
    data = pickle.dumps([b"x" * 200_000, "y" * 10_000, os.system], protocol=5)
    assert globals_of(data) == ["posix.system"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x04\xff.", "unknown opcode 0xff"),
        (b"\x80\x04R.", "stack underflow"),
        (b"\x80\x04h\x05.", "memo key never stored"),
        (b"\x80\x04\x8c\x05ab", "unexpected end of data"),
        (b"\x80\x02e.", "no MARK"),
    ],
)
def test_malformed_pickles_are_reported_not_raised(data: bytes, message: str) -> None:
    scan = scan_pickles(io.BytesIO(data))
    assert scan.error is not None and message in scan.error


@pytest.mark.parametrize(
    ("module", "name", "uses"),
    [
        ("posix", "system", set()),
        ("builtins", "getattr", set()),
        ("torch", "os.system", set()),
        ("torch._utils", "_rebuild_tensor_v2.__globals__", set()),
        ("collections", "OrderedDict", {"call", "new", "ref"}),
        ("torch._utils", "_rebuild_tensor_v2", {"call", "new", "ref"}),
        ("torch.tensor", "_rebuild_from_type_v2", {"call", "new", "ref"}),
        ("torch", "FloatStorage", {"call", "new", "ref"}),
        ("torch", "bfloat16", {"ref"}),
        ("torch.nn.modules.linear", "Linear", {"new", "ref"}),
        ("torch.nn.functional", "relu", {"ref"}),
        ("__main__", "Net", set()),
        ("__torch__", "Net", set()),
        ("numpy._core.multiarray", "_reconstruct", {"call", "new", "ref"}),
    ],
)
def test_allowlist(module: str, name: str, uses: set[str]) -> None:
    assert uses_of(module, name, Trust()) == uses


def test_torchscript_names_are_allowed_only_in_torchscript_files() -> None:
    assert uses_of("__torch__.torch.nn.modules.linear", "Linear", Trust(torchscript=True))
    assert uses_of("torch.jit._pickle", "build_intlist", Trust(torchscript=True))
    assert not uses_of("torch.jit._pickle", "build_intlist", Trust())


@pytest.mark.parametrize(
    ("module", "name", "target"),
    [
        ("posix", "system", "posix.system"),
        ("torch", "os.system", "os.system"),
        ("pathlib", "os.system", "os.system"),
        ("torch.fx.graph_module", "_forward_from_src", "torch.fx.graph_module._forward_from_src"),
        ("builtins", "eval", "builtins.eval"),
        ("argparse", "_os.system", None),
        ("collections", "Counter", None),
    ],
)
def test_what_a_refused_global_reaches(module: str, name: str, target: str | None) -> None:
    assert reaches(module, name) == target


def test_torch_zip_is_scanned_the_same_seekable_or_streamed(torch_files: TorchFiles) -> None:
    for data in (torch_files.state_dict, torch_files.scripted, torch_files.malicious):
        seekable = scan_member("w.pt", io.BytesIO(data), seekable=True)
        for chunk in (7, 4096, 1 << 22):
            original = torch_zip.CHUNK
            torch_zip.CHUNK = chunk
            try:
                stream = io.BufferedReader(io.BytesIO(data))
                assert scan_member("w.pt", stream, seekable=False) == seekable
            finally:
                torch_zip.CHUNK = original


def test_torchscript_globals_are_not_weights_warnings(torch_files: TorchFiles) -> None:
    found = scan_member("m.pt", io.BytesIO(torch_files.scripted), seekable=True)
    assert found == []


def test_non_pickle_serialized_files_are_left_alone() -> None:
    assert scan_member("model.bin", io.BytesIO(b"\x00\x01raw tensor bytes"), seekable=True) == []
    assert scan_member("model.onnx.pt", io.BytesIO(b"ONNX"), seekable=True) == []


def test_text_pickle_with_pkl_suffix_is_scanned() -> None:
    found = scan_member("x.pkl", io.BytesIO(evil_pickle(0)), seekable=True)
    assert [f.code for f in found] == ["pickle.dangerous-global"]


def test_unreadable_inner_zip_is_malformed() -> None:
    found = scan_member("w.pt", io.BytesIO(b"PK\x03\x04" + b"\x00" * 40), seekable=True)
    assert [f.code for f in found] == ["pickle.malformed"]


@pytest.mark.parametrize("layout", ["deflated", "stored", "tgz", "directory"])
def test_malicious_weights_are_found_in_every_layout(
    layout: str, tmp_path: Path, torch_files: TorchFiles
) -> None:
    files = members(torch_files.state_dict, weights_pt=torch_files.malicious)
    path = {
        "deflated": lambda: write_zip(tmp_path / "m.mar", files),
        "stored": lambda: write_zip(tmp_path / "m.mar", files, zipfile.ZIP_STORED),
        "tgz": lambda: write_tgz(tmp_path / "m.tar.gz", files),
        "directory": lambda: write_dir(tmp_path / "m", files),
    }[layout]()
    found = [f for f in check(path).findings if f.code == "pickle.dangerous-global"]
    assert len(found) == 1
    assert found[0].location.member == "weights.pt"
    assert "weights.pt (archive/data.pkl) calls posix.system" in found[0].message


def test_serialized_file_named_in_manifest_is_scanned_whatever_its_suffix(
    tmp_path: Path, torch_files: TorchFiles
) -> None:
    from tests.validate.builders import manifest

    files = members(
        torch_files.state_dict,
        weights_pt=None,
        **{"weights.data": torch_files.malicious},
        manifest=manifest({"serializedFile": "weights.data"}),
    )
    result = check(write_zip(tmp_path / "m.mar", files))
    assert "pickle.dangerous-global" in codes(result)


def test_big_deflated_weights_are_skipped_only_in_quick_mode(
    tmp_path: Path, torch_files: TorchFiles
) -> None:
    files = members(torch_files.state_dict, weights_pt=torch_files.malicious)
    path = write_zip(tmp_path / "m.mar", files)
    assert "pickle.dangerous-global" in codes(check(path, quick_scan_limit=16))
    quick = check(path, quick=True, quick_scan_limit=16)
    assert codes(quick) == {"pickle.not-scanned"}
    assert "pickle.dangerous-global" in codes(check(path, quick=True))


def test_legacy_raw_pickle_in_big_deflated_member_is_still_scanned_quickly(
    tmp_path: Path, torch_files: TorchFiles
) -> None:
    evil = evil_pickle(2) + torch_files.legacy
    path = write_zip(tmp_path / "m.mar", members(torch_files.state_dict, weights_pt=evil))
    assert "pickle.dangerous-global" in codes(check(path, quick=True, quick_scan_limit=16))


@pytest.mark.parametrize("layout", ["deflated", "stored", "tgz", "directory"])
def test_pickles_under_other_names_are_found_in_full_mode(
    layout: str, tmp_path: Path, torch_files: TorchFiles
) -> None:
    files = {
        **members(torch_files.state_dict),
        "cache.dat": evil_pickle(4),
        "blob.bin.part": torch_files.malicious,  # a torch zip under an unusual name
        "noise.raw": b"\x80\x02" + bytes(range(256)) * 4,  # starts like a pickle, is not one
        "archive.zip": b"PK\x03\x04 not really a zip",
    }
    path = {
        "deflated": lambda: write_zip(tmp_path / "m.mar", files),
        "stored": lambda: write_zip(tmp_path / "m.mar", files, zipfile.ZIP_STORED),
        "tgz": lambda: write_tgz(tmp_path / "m.tar.gz", files),
        "directory": lambda: write_dir(tmp_path / "m", files),
    }[layout]()
    found = sorted((f.code, f.location.member) for f in check(path).findings)
    assert found == [
        ("pickle.dangerous-global", "blob.bin.part"),
        ("pickle.dangerous-global", "cache.dat"),
    ]
    assert check(path, quick=True).findings == ()


def _legacy_save(obj: object, protocol: int = 2) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    return buffer.getvalue()


def test_legacy_torch_format_is_exactly_five_pickles_then_raw_storage() -> None:
    import torch

    # A first storage of 128 (or 640...) elements starts the raw bytes with 0x80, which
    # looked like the PROTO of a sixth pickle.
    data = _legacy_save({"w": torch.zeros(128), "b": torch.zeros(640)})
    assert data[data.rindex(b".") :].startswith(b".\x80")
    scan = scan_pickles(io.BytesIO(data))
    assert scan.pickles == 5 and scan.error is None
    assert scan_member("w.pt", io.BytesIO(data), seekable=True) == []


@pytest.mark.parametrize("protocol", [0, 1])
def test_legacy_torch_format_of_protocols_without_proto_is_read_whole(protocol: int) -> None:
    import torch

    data = _legacy_save({"w": torch.zeros(2), "payload": RunsCommand()}, protocol)
    scan = scan_pickles(io.BytesIO(data))
    assert scan.pickles == 5
    assert "posix.system" in [f"{g.module}.{g.name}" for g in scan.globals]
    found = scan_member("w.pt", io.BytesIO(data), seekable=True)
    assert [f.code for f in found] == ["pickle.dangerous-global"]


@pytest.mark.parametrize("protocol", [0, 1])
def test_protocol_zero_and_one_pickles_are_scanned_under_any_serialized_name(
    protocol: int,
) -> None:
    for name in ("weights.pt", "model.bin", "ckpt.pth"):
        found = scan_member(name, io.BytesIO(evil_pickle(protocol)), seekable=True)
        assert [f.code for f in found] == ["pickle.dangerous-global"], name


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def test_raw_data_that_starts_like_a_text_pickle_is_not_reported_nor_read_whole() -> None:
    # 'B' (BINBYTES) with a huge length, then data: not a pickle, and no reason to read on.
    data = b"B\xff\xff\xff\x7f" + bytes(range(256)) * (96 << 12)  # 24 MiB
    stream = _Counting(data)
    assert scan_member("model.bin", stream, seekable=True) == []
    assert stream.consumed <= pickles.UNCERTAIN_SCAN_LIMIT + BLOCK
    assert scan_member("notes.pkl", io.BytesIO(b"Bad\n"), seekable=True)[0].code == (
        "pickle.malformed"  # a .pkl must be a pickle
    )


def test_joblib_inline_arrays_are_unscannable_not_a_malformed_pickle() -> None:
    # What joblib.dump writes for an ndarray: its wrapper object, then the raw array bytes
    # (which joblib's unpickler reads itself), then the rest of the pickle: where a payload
    # could hide, so what cannot be followed is an error.
    wrapper = b"\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}b"
    data = b"\x80\x04" + wrapper + b"\x10" + b"\x00" * 15 + b"\x0b\x0c\x0d" * 20 + b"."
    found = scan_member("model.joblib", io.BytesIO(data), seekable=True)
    assert [f.code for f in found] == ["pickle.unlisted-global", "pickle.unscannable"]


def test_a_pickle_that_grows_the_memo_or_stack_without_bound_is_refused() -> None:
    """The simulated unpickler has bounds, so a small hostile pickle cannot make the scan
    allocate without end; a pickle past them is not scanned, it is refused."""
    from mar_tools.validate.pickle import machine

    memo_bomb = b"\x80\x04N" + b"\x94" * (machine.MAX_MEMO + 1) + b"."
    scan = scan_pickles(io.BytesIO(memo_bomb))
    assert scan.error is not None and "memo entries" in scan.error

    stack_bomb = b"\x80\x04" + b"N" * (machine.MAX_STACK + 2) + b"."
    scan = scan_pickles(io.BytesIO(stack_bomb))
    assert scan.error is not None and "stack grows beyond" in scan.error

    # Well inside the bounds, the same shapes are ordinary pickles.
    assert scan_pickles(io.BytesIO(b"\x80\x04N" + b"\x94" * 1000 + b".")).error is None
