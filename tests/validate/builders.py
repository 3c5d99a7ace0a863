"""Hand-built archives for the validator's tests: real zip, tar.gz and directory files.

:func:`members` gives the files of a small valid model (the one upstream's archiver would
build from ``--handler handler.py --model-file model.py --serialized-file weights.pt``);
the writers put any mapping of members into an archive; :func:`patch` and the zip helpers
edit bytes in place to break one thing at a time.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mar_tools.report.result import ArchiveResult
from mar_tools.validate import ValidateOptions, validate_archive

MANIFEST = "MAR-INF/MANIFEST.json"
HANDLER = b"""\
from ts.torch_handler.base_handler import BaseHandler


class MyHandler(BaseHandler):
    def handle(self, data, context):
        return data
"""
MODEL = b"""\
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
"""
CONFIG = b"batchSize: 4\nmaxBatchDelay: 50\nminWorkers: 1\nmaxWorkers: 2\n"
REQUIREMENTS = b"pyyaml\n"


def manifest(model: Mapping[str, Any] | None = None, **top: Any) -> bytes:
    """Manifest bytes laid out as upstream 0.12 writes them; *model* and *top* override."""
    data: dict[str, Any] = {
        "createdOn": "25/11/2026 11:20:18",
        "runtime": "python",
        "model": {
            "modelName": "m1",
            "serializedFile": "weights.pt",
            "handler": "handler.py",
            "modelFile": "model.py",
            "modelVersion": "1.0",
            "requirementsFile": "requirements.txt",
            "configFile": "model-config.yaml",
        },
        "archiverVersion": "0.12.0",
    }
    data.update(top)
    for key, value in (model or {}).items():
        if value is None:
            data["model"].pop(key, None)
        else:
            data["model"][key] = value
    return json.dumps({k: v for k, v in data.items() if v is not None}, indent=2).encode()


def members(weights: bytes, **changes: bytes | None) -> dict[str, bytes]:
    """The files of a valid model; *changes* (``model_py=...``) replace or drop some.

    Keyword names use ``_`` for ``.`` and ``-`` (``model_config_yaml``).
    """
    files = {
        "handler.py": HANDLER,
        "model.py": MODEL,
        "weights.pt": weights,
        "requirements.txt": REQUIREMENTS,
        "model-config.yaml": CONFIG,
    }
    lookup = {name.replace(".", "_").replace("-", "_"): name for name in files}
    for key, value in changes.items():
        name = lookup.get(key, key)
        if value is None:
            files.pop(name, None)
        else:
            files[name] = value
    files[MANIFEST] = changes.get("manifest") or files.get(MANIFEST) or manifest()
    return files


def write_zip(
    path: Path,
    files: Mapping[str, bytes] | Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write *files* (a mapping, or pairs allowing duplicates and ZipInfos) to zip *path*."""
    items = files.items() if isinstance(files, Mapping) else files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def write_tgz(path: Path, files: Mapping[str, bytes], root: str | None = "m1") -> Path:
    """Write *files* under directory *root* (None: at the top) into tar.gz *path*."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{root}/{name}" if root else name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_dir(path: Path, files: Mapping[str, bytes]) -> Path:
    """Write *files* below directory *path*."""
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def patch(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes of *path* at *offset*."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def local_header_offset(path: Path, name: str) -> int:
    """Offset of the local header of entry *name* (from the central directory)."""
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(name).header_offset


def data_offset(path: Path, name: str) -> int:
    """Offset of entry *name*'s data."""
    offset = local_header_offset(path, name)
    with open(path, "rb") as handle:
        handle.seek(offset + 26)
        name_len, extra_len = struct.unpack("<HH", handle.read(4))
    return offset + 30 + int(name_len) + int(extra_len)


def central_record_offset(path: Path, name: str) -> int:
    """Offset of entry *name*'s central-directory record."""
    raw = path.read_bytes()
    encoded = name.encode()
    position = raw.find(b"PK\x01\x02")
    while position >= 0:
        name_len = int(struct.unpack_from("<H", raw, position + 28)[0])
        if raw[position + 46 : position + 46 + name_len] == encoded:
            return position
        position = raw.find(b"PK\x01\x02", position + 1)
    raise KeyError(name)


def set_flags(path: Path, name: str, flags: int) -> None:
    """Set entry *name*'s general-purpose flags in both its local header and its record."""
    patch(path, local_header_offset(path, name) + 6, struct.pack("<H", flags))
    patch(path, central_record_offset(path, name) + 8, struct.pack("<H", flags))


class RunsCommand:
    """An object whose unpickling would run ``echo pwned`` (it is never unpickled here)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def evil_pickle(protocol: int) -> bytes:
    """A plain pickle (any protocol) that would call os.system when loaded."""
    return pickle.dumps({"payload": RunsCommand()}, protocol=protocol)


def check(path: Path, **options: Any) -> ArchiveResult:
    """Validate *path* with *options* (ValidateOptions fields)."""
    return validate_archive(path, ValidateOptions(**options))


def codes(result: ArchiveResult) -> set[str]:
    """The codes of *result*'s findings."""
    return {item.code for item in result.findings}


class Unseekable(io.RawIOBase):
    """A write-only stream without tell(): zipfile then writes data descriptors."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.data += data
        return len(data)


@dataclass(frozen=True)
class TorchFiles:
    """Serialized files made with the real torch: weights and pickles of several kinds."""

    state_dict: bytes  # torch.save(state_dict): zip format, data.pkl
    scripted: bytes  # torch.jit.save: zip format with code/ and constants.pkl
    legacy: bytes  # torch.save(..., _use_new_zipfile_serialization=False): raw pickles
    whole_model: bytes  # torch.save(nn.Module): needs non-weights globals
    malicious: bytes  # torch.save of an object that runs a command when loaded


def make_torch_files() -> TorchFiles:
    """Make :class:`TorchFiles` with torch (imported here: slow, and only tests need it)."""
    import torch

    def saved(obj: object, **kwargs: Any) -> bytes:
        buffer = io.BytesIO()
        torch.save(obj, buffer, **kwargs)
        return buffer.getvalue()

    torch.manual_seed(0)
    module = torch.nn.Linear(4, 2)
    scripted = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated
        torch.jit.save(torch.jit.script(module), scripted)
    return TorchFiles(
        state_dict=saved(module.state_dict()),
        scripted=scripted.getvalue(),
        legacy=saved(module.state_dict(), _use_new_zipfile_serialization=False),
        whole_model=saved(module),
        malicious=saved({"weights": module.state_dict(), "payload": RunsCommand()}),
    )
