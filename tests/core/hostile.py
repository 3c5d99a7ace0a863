"""Hostile archives built byte by byte: bombs, sparse tar members, lying headers, NUL names.

Each builder writes a real file; the tests of extraction, ``mar validate`` and ``mar run``
share them, so every command meets the same bytes.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
from pathlib import Path

MANIFEST = b'{"runtime": "python", "model": {"modelName": "m", "handler": "h.py"}}'
HANDLER = b"def handle(data, context):\n    return [1]\n"


def zip_bomb(path: Path, size: int = 64 << 20) -> Path:
    """A valid .mar with one DEFLATED entry of *size* zero bytes (about 1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
        archive.writestr("h.py", HANDLER)
        with archive.open("zeros.bin", "w") as sink:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                sink.write(block)
    return path


def lying_zip(path: Path, actual: int = 8 << 20, declared: int = 1024) -> Path:
    """A .mar whose entry ``zeros.bin`` inflates to *actual* bytes but declares *declared*
    (in the central directory and the local header alike, so only reading tells)."""
    zip_bomb(path, actual)
    data = bytearray(path.read_bytes())
    # (signature, offset of the uncompressed size, of the name length, of the name)
    for signature, size_at, length_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        at = data.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", data, at + length_at)[0]
            if bytes(data[at + name_at : at + name_at + length]) == b"zeros.bin":
                struct.pack_into("<I", data, at + size_at, declared)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def zip_with_prefix(path: Path, prefix: bytes = b"#!/bin/sh\nexit 0\n") -> Path:
    """A valid .mar with *prefix* bytes before its first entry (a self-extractor's stub)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
        archive.writestr("h.py", HANDLER)
    path.write_bytes(prefix + buffer.getvalue())
    return path


def zip_with_nul_name(path: Path) -> Path:
    """A .mar with an entry stored as ``h.py\\0.txt`` (zipfile shows it as ``h.py``)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
        archive.writestr("h.py\x01.txt", HANDLER)
    path.write_bytes(path.read_bytes().replace(b"h.py\x01.txt", b"h.py\x00.txt"))
    return path


def zip_with_file_and_dir(path: Path) -> Path:
    """A .mar with a file ``lib`` and a file ``lib/x.py`` (one overwrites the other)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
        archive.writestr("h.py", HANDLER)
        archive.writestr("lib", b"a file")
        archive.writestr("lib/x.py", b"x = 1\n")
    return path


def tgz(path: Path, files: dict[str, bytes], root: str = "m") -> Path:
    """A plain .tar.gz of *files* under directory *root*."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def tgz_bomb(path: Path, size: int = 64 << 20) -> Path:
    """A .tar.gz holding *size* zero bytes in one member (a gzip bomb, about 1000:1)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in (("MAR-INF/MANIFEST.json", MANIFEST), ("h.py", HANDLER)):
            info = tarfile.TarInfo(f"m/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("m/zeros.bin")
        info.size = size
        archive.addfile(info, io.BytesIO(bytes(size)))
    path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=9, mtime=0))
    return path


def _octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\0"


def sparse_tgz(path: Path, size: int = 10 << 30) -> Path:
    """A few hundred bytes of .tar.gz holding a GNU sparse member that expands to *size*
    bytes (all holes but its last byte), after a valid manifest and handler."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in (("MAR-INF/MANIFEST.json", MANIFEST), ("h.py", HANDLER)):
            info = tarfile.TarInfo(f"m/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    body = raw.getvalue().rstrip(b"\0")
    body += bytes(-len(body) % 512)
    header = bytearray(512)
    header[0:12] = b"m/sparse.bin"
    header[100:108] = _octal(0o644, 8)
    header[108:116] = _octal(0, 8)
    header[116:124] = _octal(0, 8)
    header[124:136] = _octal(1, 12)  # stored bytes
    header[136:148] = _octal(0, 12)
    header[156:157] = b"S"
    header[257:265] = b"ustar  \0"
    header[386:398] = _octal(size - 1, 12)  # one data run: the last byte
    header[398:410] = _octal(1, 12)
    header[483:495] = _octal(size, 12)  # the real size
    header[148:156] = b"        "
    header[148:156] = _octal(sum(header), 7) + b" "
    data = bytes(header) + b"x" + bytes(511) + bytes(1024)
    path.write_bytes(gzip.compress(body + data, compresslevel=9, mtime=0))
    return path
