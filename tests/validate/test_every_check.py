"""Every check code, triggered by a hand-built bad archive, and nothing on a good one.

:data:`BAD` maps each catalog code to a builder of an archive broken in exactly that way;
a test keeps the table and the catalog in step, so a new code cannot ship untested.
"""

from __future__ import annotations

import io
import pickle
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mar_tools.report.finding import Severity
from mar_tools.validate import CATALOG, CODES
from tests.validate.builders import (
    MANIFEST,
    TorchFiles,
    Unseekable,
    check,
    codes,
    data_offset,
    evil_pickle,
    local_header_offset,
    manifest,
    members,
    patch,
    set_flags,
    write_dir,
    write_tgz,
    write_zip,
)
from tests.validate.pickle_asm import BUILD, EMPTY_DICT, NONE, call, p2, text_global, tup

Built = tuple[Path, dict[str, Any]]
Builder = Callable[[Path, TorchFiles], Built]
BAD: dict[str, Builder] = {}


def case(code: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        BAD[code] = builder
        return builder

    return register


def zip_of(tmp: Path, tf: TorchFiles, **changes: bytes | None) -> Path:
    return write_zip(tmp / "m.mar", members(tf.state_dict, **changes))


def plain(path: Path) -> Built:
    return path, {}


# --- archive ---------------------------------------------------------------------------
@case("archive.unreadable")
def _unreadable(tmp: Path, tf: TorchFiles) -> Built:
    good = zip_of(tmp, tf).read_bytes()
    truncated = tmp / "truncated.mar"
    truncated.write_bytes(good[: len(good) // 2])
    return plain(truncated)


@case("archive.wrong-extension")
def _extension(tmp: Path, tf: TorchFiles) -> Built:
    return plain(write_zip(tmp / "m.zip", members(tf.state_dict)))


# --- zip structure ---------------------------------------------------------------------
@case("zip.prefix-data")
def _prefix(tmp: Path, tf: TorchFiles) -> Built:
    good = zip_of(tmp, tf)
    path = tmp / "prefixed.mar"
    path.write_bytes(b"#!/bin/sh\nexit 0\n" + good.read_bytes())
    return plain(path)


@case("zip.hidden-data")
def _hidden(tmp: Path, tf: TorchFiles) -> Built:
    path = tmp / "gap.mar"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members(tf.state_dict).items():
            archive.writestr(name, data)
            if name == "model.py":
                assert archive.fp is not None
                archive.fp.write(b"PK\x03\x04 smuggled local entry")
                archive.start_dir = archive.fp.tell()  # the next entry goes after the gap
    return plain(path)


@case("zip.header-mismatch")
def _mismatch(tmp: Path, tf: TorchFiles) -> Built:
    path = zip_of(tmp, tf)
    patch(path, local_header_offset(path, "handler.py") + 30, b"hxndler.py")
    return plain(path)


@case("zip.overlap")
def _overlap(tmp: Path, tf: TorchFiles) -> Built:
    path = tmp / "overlap.mar"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members(tf.state_dict).items():
            archive.writestr(name, data)
        archive.writestr("alias.txt", b"x" * 10)
        archive.filelist[-1].header_offset = archive.filelist[0].header_offset
    return plain(path)


@case("zip.stored-data-descriptor")
def _descriptor(tmp: Path, tf: TorchFiles) -> Built:
    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members(tf.state_dict).items():
            with archive.open(name, "w") as entry:
                entry.write(data)
    path = tmp / "descriptor.mar"
    path.write_bytes(bytes(sink.data))
    return plain(path)


@case("zip.name-encoding")
def _encoding(tmp: Path, tf: TorchFiles) -> Built:
    path = write_zip(tmp / "m.mar", {**members(tf.state_dict), "café.txt": b"x"})
    set_flags(path, "café.txt", 0)
    return plain(path)


# --- entries ---------------------------------------------------------------------------
@case("entry.encrypted")
def _encrypted(tmp: Path, tf: TorchFiles) -> Built:
    path = write_zip(tmp / "m.mar", {**members(tf.state_dict), "secret.txt": b"x" * 40})
    set_flags(path, "secret.txt", 0x1)
    return plain(path)


@case("entry.unsupported-compression")
def _bzip2(tmp: Path, tf: TorchFiles) -> Built:
    files = members(tf.state_dict)
    path = tmp / "m.mar"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            method = zipfile.ZIP_BZIP2 if name == "model.py" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return plain(path)


@case("entry.crc-mismatch")
def _crc(tmp: Path, tf: TorchFiles) -> Built:
    path = write_zip(tmp / "m.mar", members(tf.state_dict), zipfile.ZIP_STORED)
    patch(path, data_offset(path, "weights.pt") + 100, b"\xff\xfe")
    return plain(path)


@case("entry.corrupt")
def _corrupt(tmp: Path, tf: TorchFiles) -> Built:
    path = zip_of(tmp, tf)
    patch(path, data_offset(path, "model.py"), b"\xff" * 8)
    return plain(path)


# --- names -----------------------------------------------------------------------------
def _named(name: str) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return plain(write_zip(tmp / "m.mar", {**members(tf.state_dict), name: b"x"}))

    return build


BAD["path.traversal"] = _named("../evil.txt")
BAD["path.absolute"] = _named("/etc/evil.txt")
BAD["path.drive-letter"] = _named("C:/evil.txt")
BAD["path.backslash"] = _named("sub\\evil.txt")
BAD["path.case-collision"] = _named("Handler.py")


@case("path.invalid")
def _nul(tmp: Path, tf: TorchFiles) -> Built:
    path = write_zip(tmp / "m.mar", {**members(tf.state_dict), "evilXtxt": b"x"})
    raw = path.read_bytes().replace(b"evilXtxt", b"evil\x00txt")
    path.write_bytes(raw)
    return plain(path)


@case("path.duplicate")
def _duplicate(tmp: Path, tf: TorchFiles) -> Built:
    files = list(members(tf.state_dict).items())
    return plain(write_zip(tmp / "m.mar", [*files, ("handler.py", b"print('second')\n")]))


@case("path.symlink")
def _symlink(tmp: Path, tf: TorchFiles) -> Built:
    info = zipfile.ZipInfo("link.txt")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    files = list(members(tf.state_dict).items())
    return plain(write_zip(tmp / "m.mar", [(info, b"/etc/passwd"), *files]))


@case("path.special-file")
def _fifo(tmp: Path, tf: TorchFiles) -> Built:
    path = write_tgz(tmp / "m.tar.gz", members(tf.state_dict))
    with tarfile.open(path, "r:gz") as source:
        entries = [(info, source.extractfile(info)) for info in source.getmembers()]
        datas = [(info, stream.read() if stream else None) for info, stream in entries]
    with tarfile.open(path, "w:gz") as archive:
        fifo = tarfile.TarInfo("m1/pipe")
        fifo.type = tarfile.FIFOTYPE
        archive.addfile(fifo)
        for info, data in datas:
            archive.addfile(info, io.BytesIO(data or b""))
    return plain(path)


# --- limits ----------------------------------------------------------------------------
@case("limits.total-size")
def _total(tmp: Path, tf: TorchFiles) -> Built:
    return zip_of(tmp, tf), {"limits": _limits(max_total_size=1000)}


@case("limits.ratio")
def _ratio(tmp: Path, tf: TorchFiles) -> Built:
    return plain(write_zip(tmp / "m.mar", {**members(tf.state_dict), "zeros.bin": bytes(4 << 20)}))


@case("limits.entry-count")
def _count(tmp: Path, tf: TorchFiles) -> Built:
    return zip_of(tmp, tf), {"limits": _limits(max_entries=3)}


def _limits(**values: Any) -> Any:
    from mar_tools.validate import Limits

    return Limits(**values)


# --- manifest --------------------------------------------------------------------------
def _with_manifest(data: bytes) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return plain(zip_of(tmp, tf, manifest=data))

    return build


@case("manifest.missing")
def _no_manifest(tmp: Path, tf: TorchFiles) -> Built:
    files = members(tf.state_dict)
    del files[MANIFEST]
    return plain(write_zip(tmp / "m.mar", files))


BAD["manifest.invalid-json"] = _with_manifest(b'{"runtime": "python",')
BAD["manifest.schema"] = _with_manifest(manifest(runtime="ruby"))
BAD["manifest.runtime-missing"] = _with_manifest(manifest(runtime=None))
BAD["manifest.model-version"] = _with_manifest(manifest({"modelVersion": None}))
BAD["manifest.created-on"] = _with_manifest(manifest(createdOn="2026-11-25T11:20:18Z"))
BAD["manifest.archiver-version"] = _with_manifest(manifest(archiverVersion=None))
BAD["manifest.missing-file"] = _with_manifest(manifest({"serializedFile": "missing.pt"}))
BAD["manifest.unsafe-reference"] = _with_manifest(manifest({"configFile": "../config.yaml"}))


# --- model-config.yaml -----------------------------------------------------------------
def _with_config(text: bytes) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return plain(zip_of(tmp, tf, model_config_yaml=text))

    return build


BAD["config.invalid-yaml"] = _with_config(b"batchSize: [4\n")
BAD["config.not-mapping"] = _with_config(b"- batchSize\n")
BAD["config.type"] = _with_config(b"batchSize: '4'\n")
BAD["config.value"] = _with_config(b"deviceType: neuron\n")
BAD["config.unknown-key"] = _with_config(b"torchrun:\n  nprocs: 2\n")
BAD["config.breaks-load"] = _with_config(b"pt2: 5\n")


@case("config.not-referenced")
def _unreferenced(tmp: Path, tf: TorchFiles) -> Built:
    return plain(zip_of(tmp, tf, manifest=manifest({"configFile": None})))


# --- requirements ----------------------------------------------------------------------
def _with_requirements(text: bytes) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return plain(zip_of(tmp, tf, requirements_txt=text))

    return build


BAD["requirements.syntax"] = _with_requirements(b"numpy >>= 1\n")
BAD["requirements.torch"] = _with_requirements(b"torchvision==0.20.0\n")
BAD["requirements.missing-file"] = _with_requirements(b"-r more-requirements.txt\n")


# --- handler ---------------------------------------------------------------------------
def _with_handler(
    source: bytes | None, handler: str = "handler.py", config: bytes | None = None
) -> Builder:
    """The model with handler *handler* whose file holds *source* (None: no file)."""

    def build(tmp: Path, tf: TorchFiles) -> Built:
        name = handler.partition(":")[0]
        name = name if name.endswith(".py") else name + ".py"
        changes: dict[str, bytes | None] = {
            "handler_py": None,
            name: source,
            "manifest": manifest({"handler": handler}),
        }
        if config is not None:
            changes["model_config_yaml"] = config
        return plain(zip_of(tmp, tf, **changes))

    return build


ONE_FUNCTION = b"def handle(data, context):\n    return data\n"
BAD["handler.not-found"] = _with_handler(None, "vision_handlr")
BAD["handler.shadows-module"] = _with_handler(ONE_FUNCTION, "json.py")
BAD["handler.syntax-error"] = _with_handler(b"def handle(data, context)\n    return data\n")
BAD["handler.no-entry-point"] = _with_handler(b"import torch\n\nVALUE = 1\n")
BAD["handler.multiple-classes"] = _with_handler(
    b"class Helper:\n    pass\n\n\nclass H:\n    def handle(self, data, context):\n"
    b"        return data\n"
)
BAD["handler.no-handle-method"] = _with_handler(
    b"class H:\n    def initialize(self, context):\n        pass\n"
)
BAD["handler.function-not-found"] = _with_handler(
    b"class H:\n    def handle(self, data, context):\n        return data\n", "handler:serve"
)
BAD["handler.function-signature"] = _with_handler(b"def handle(data):\n    return data\n")
BAD["handler.init-signature"] = _with_handler(
    b"class H:\n    def __init__(self, size):\n        self.size = size\n\n"
    b"    def handle(self, data, context):\n        return data\n"
)
BAD["handler.async-entry-point"] = _with_handler(
    b"async def handle(data, context):\n    return data\n"
)


# --- model file ------------------------------------------------------------------------
@case("model.not-python")
def _model_txt(tmp: Path, tf: TorchFiles) -> Built:
    return plain(
        zip_of(tmp, tf, **{"model.txt": b"x"}, manifest=manifest({"modelFile": "model.txt"}))
    )


@case("model.module-name")
def _dotted(tmp: Path, tf: TorchFiles) -> Built:
    from tests.validate.builders import MODEL

    return plain(
        zip_of(tmp, tf, **{"my.model.py": MODEL}, manifest=manifest({"modelFile": "my.model.py"}))
    )


def _with_model(source: bytes) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return plain(zip_of(tmp, tf, model_py=source))

    return build


BAD["model.syntax-error"] = _with_model(b"class Net(torch.nn.Module)\n    pass\n")
BAD["model.class-count"] = _with_model(
    b"import torch\n\n\nclass Block(torch.nn.Module):\n    pass\n\n\n"
    b"class Net(torch.nn.Module):\n    pass\n"
)
BAD["model.not-nn-module"] = _with_model(b"class Net:\n    pass\n")

# --- imports ---------------------------------------------------------------------------
BAD["imports.unresolved"] = _with_handler(
    b"import surely_not_installed_module_xyz\n\n\ndef handle(data, context):\n    return data\n"
)


# --- pickles ---------------------------------------------------------------------------
def _with_weights(data: bytes, name: str = "weights.pt", **options: Any) -> Builder:
    def build(tmp: Path, tf: TorchFiles) -> Built:
        return zip_of(tmp, tf, **{name: data}), options

    return build


@case("pickle.dangerous-global")
def _dangerous(tmp: Path, tf: TorchFiles) -> Built:
    return plain(zip_of(tmp, tf, weights_pt=tf.malicious))


@case("pickle.non-weights-global")
def _whole(tmp: Path, tf: TorchFiles) -> Built:
    return plain(zip_of(tmp, tf, weights_pt=tf.whole_model))


# STACK_GLOBAL whose module name comes from a call (REDUCE), not from a literal string.
HIDDEN = b"\x80\x04\x8c\x08builtins\x8c\x03str\x93\x8c\x02os\x85R\x8c\x06system\x93\x8c\x02id\x85R."
BAD["pickle.unverifiable-global"] = _with_weights(HIDDEN, "extra.pkl")
BAD["pickle.malformed"] = _with_weights(evil_pickle(4)[:20], "extra.pkl")


# A class from a package the archive does not ship, called with REDUCE.
UNLISTED = p2(call(text_global("mylib.layers", "Block")))
BAD["pickle.unlisted-global"] = _with_weights(UNLISTED, "extra.pkl")
# BUILD on a class itself: sets attributes of torch.nn.Module for everyone.
BAD["pickle.unsafe-operation"] = _with_weights(
    p2(text_global("torch.nn.modules.module", "Module") + tup(NONE, EMPTY_DICT) + BUILD),
    "extra.pkl",
)
# joblib's arrays are raw bytes inside the pickle stream: what follows cannot be checked.
BAD["pickle.unscannable"] = _with_weights(
    b"\x80\x04\x8c\x13joblib.numpy_pickle\x8c\x11NumpyArrayWrapper\x93)\x81}b\x10" + bytes(40),
    "model.joblib",
)


@case("pickle.non-weights-format")
def _protocol_4(tmp: Path, tf: TorchFiles) -> Built:
    import torch

    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer, pickle_protocol=4)
    return plain(zip_of(tmp, tf, weights_pt=buffer.getvalue()))


@case("pickle.not-scanned")
def _not_scanned(tmp: Path, tf: TorchFiles) -> Built:
    return zip_of(tmp, tf), {"quick": True, "quick_scan_limit": 16}


def test_every_catalog_code_has_a_bad_archive() -> None:
    assert set(BAD) == CODES


@pytest.mark.parametrize("code", [info.code for info in CATALOG])
def test_bad_archive_triggers_its_code(code: str, tmp_path: Path, torch_files: TorchFiles) -> None:
    path, options = BAD[code](tmp_path, torch_files)
    result = check(path, **options)
    assert code in codes(result), [(f.code, f.message) for f in result.findings]
    severities = {f.severity for f in result.findings if f.code == code}
    expected = {info.severity for info in CATALOG if info.code == code}
    if code != "model.class-count":  # its severity depends on the handler (see test_model)
        assert severities == expected
    if expected == {Severity.INFO}:
        assert not result.failed(strict=True)
    else:
        assert result.failed(strict=True)
        assert result.failed(strict=False) == (expected == {Severity.ERROR})


def test_good_archive_in_every_format_has_no_findings(tmp_path: Path, weights: bytes) -> None:
    files = members(weights)
    archives = [
        write_zip(tmp_path / "m.mar", files),
        write_zip(tmp_path / "stored.mar", files, zipfile.ZIP_STORED),
        write_tgz(tmp_path / "m.tar.gz", files),
        write_dir(tmp_path / "dir" / "m1", files),
    ]
    for path in archives:
        for quick in (False, True):
            result = check(path, quick=quick)
            assert result.findings == (), (path, quick, result.findings)


def test_quick_mode_scans_stored_weights_cheaply(tmp_path: Path, torch_files: TorchFiles) -> None:
    files = members(torch_files.state_dict, weights_pt=torch_files.malicious)
    path = write_zip(tmp_path / "m.mar", files, zipfile.ZIP_STORED)
    result = check(path, quick=True, quick_scan_limit=16)
    assert "pickle.dangerous-global" in codes(result)
    assert "pickle.not-scanned" not in codes(result)


def test_pickle_protocols_zero_to_five_are_all_read(tmp_path: Path, weights: bytes) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = write_zip(
            tmp_path / f"p{protocol}.mar", {**members(weights), "x.pkl": evil_pickle(protocol)}
        )
        found = [f for f in check(path).findings if f.code == "pickle.dangerous-global"]
        assert len(found) == 1, protocol
        assert "posix.system" in found[0].message or "nt.system" in found[0].message
