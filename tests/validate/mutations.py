"""Mutated archives for the "never crash" property of ``mar validate``.

Seeds are small valid archives (zip deflated and stored, tar.gz) holding a model with real
torch files. Each mutation breaks them the way damaged or hostile files are broken: bit
flips, truncation, edited header fields, random entry names (in the local header, the
central directory or both), inserted and deleted bytes, and, for tar.gz, edits of the tar
stream under the gzip layer or random edits of one member's text before repacking.

Used by ``tests/validate/test_fuzz.py`` (a short seeded run) and
``benchmarks/fuzz_validate.py`` (the long run).
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mar_tools.validate.pickle.signature_search import occurrences
from tests.validate.builders import manifest

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x07\x08")
NAME_ALPHABET = b"ab./\\\x00:..-_MAR-INF/MANIFEST.jsonC:\xff\xc3"
TEXT_MEMBERS = ("MAR-INF/MANIFEST.json", "handler.py", "model-config.yaml", "requirements.txt")


@dataclass(frozen=True)
class Seed:
    """A valid archive to mutate: its bytes, its kind, and its members (for repacking)."""

    name: str
    kind: str  # "zip" or "tgz"
    data: bytes
    files: Mapping[str, bytes]


def seed_files(torch_files: Mapping[str, bytes]) -> dict[str, bytes]:
    """A model's members with every kind of serialized file in *torch_files*."""
    files = {
        "handler.py": b"from ts.torch_handler.base_handler import BaseHandler\n\n\n"
        b"class H(BaseHandler):\n    def handle(self, data, context):\n        return data\n",
        "model.py": b"import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n",
        "model-config.yaml": b"batchSize: 4\ntorchrun:\n  nnodes: 1\npt2:\n  compile:\n"
        b"    enable: true\n",
        "requirements.txt": b"pyyaml>=6\n-r extra.txt\n",
        "extra.txt": b"numpy\n",
    }
    files.update({f"{name}.pt": data for name, data in torch_files.items()})
    files["MAR-INF/MANIFEST.json"] = manifest({"serializedFile": "weights.pt"})
    return files


def make_seeds(files: Mapping[str, bytes]) -> list[Seed]:
    """Deflated zip, stored zip and tar.gz archives of *files*."""
    return [
        Seed("deflated.mar", "zip", pack_zip(files, zipfile.ZIP_DEFLATED), files),
        Seed("stored.mar", "zip", pack_zip(files, zipfile.ZIP_STORED), files),
        Seed("model.tar.gz", "tgz", pack_tgz(files), files),
    ]


def pack_zip(files: Mapping[str, bytes], method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pack_tgz(files: Mapping[str, bytes], root: str = "m1") -> bytes:
    return gzip.compress(tar_bytes(files, root), mtime=0)


def tar_bytes(files: Mapping[str, bytes], root: str) -> bytes:
    """An uncompressed tar of *files* under the directory *root*."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


Mutation = Callable[[Seed, random.Random], bytes]


def flip_bits(seed: Seed, rng: random.Random) -> bytes:
    data = bytearray(seed.data)
    for _ in range(rng.randint(1, 12)):
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate(seed: Seed, rng: random.Random) -> bytes:
    return seed.data[: rng.randrange(len(seed.data))]


def edit_header(seed: Seed, rng: random.Random) -> bytes:
    """Overwrite a field near a zip record signature (sizes, offsets, flags, name lengths)."""
    data = bytearray(seed.data)
    positions = [i for sig in ZIP_SIGNATURES for i in occurrences(data, sig)]
    if not positions:
        return flip_bits(seed, rng)
    for _ in range(rng.randint(1, 3)):
        start = rng.choice(positions) + rng.randrange(4, 46)
        width = rng.choice((1, 2, 4))
        value = rng.choice((0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, rng.getrandbits(32)))
        raw = struct.pack("<I", value & 0xFFFFFFFF)[:width]
        data[start : start + width] = raw
    return bytes(data[: len(seed.data)])


def rename(seed: Seed, rng: random.Random) -> bytes:
    """Replace one entry name by random bytes of the same length (locally, centrally or both)."""
    data = bytearray(seed.data)
    name = rng.choice(list(seed.files)).encode()
    new = bytes(rng.choice(NAME_ALPHABET) for _ in name)
    places = occurrences(data, name)
    if not places:
        return flip_bits(seed, rng)
    chosen = places if rng.random() < 0.5 else [rng.choice(places)]
    for position in chosen:
        data[position : position + len(name)] = new
    return bytes(data)


def splice(seed: Seed, rng: random.Random) -> bytes:
    """Insert or delete a few bytes somewhere."""
    data = bytearray(seed.data)
    position = rng.randrange(len(data))
    if rng.random() < 0.5:
        data[position:position] = rng.randbytes(rng.randint(1, 64))
    else:
        del data[position : position + rng.randint(1, 64)]
    return bytes(data)


def edit_tar(seed: Seed, rng: random.Random) -> bytes:
    """Flip bytes of the tar stream under the gzip layer (the CRC then matches)."""
    raw = bytearray(gzip.decompress(seed.data))
    for _ in range(rng.randint(1, 6)):
        block = rng.randrange(len(raw) // 512) * 512
        offset = block + rng.choice((0, 100, 124, 136, 148, 156, 157, 257, 345, rng.randrange(512)))
        raw[offset : offset + 1] = bytes([rng.randrange(256)])
    return gzip.compress(bytes(raw), mtime=0)


def edit_member(seed: Seed, rng: random.Random) -> bytes:
    """Randomly edit one text member (manifest, handler, config...) and repack cleanly."""
    files = dict(seed.files)
    name = rng.choice(TEXT_MEMBERS)
    text = bytearray(files[name])
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(text) + 1)
        text[position:position] = bytes([rng.choice(b'{}[]:,"\n -#@!&*\x00\xffabc0123')])
    files[name] = bytes(text)
    if rng.random() < 0.2:
        files[rng.choice(["../x", "/abs", "C:\\win", "a/../../b", ""]) or "x"] = b"payload"
    if seed.kind == "tgz":
        return pack_tgz(files, rng.choice(["m1", "m1/sub", ".."]))
    return pack_zip(files, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))


MUTATIONS: dict[str, list[Mutation]] = {
    "zip": [flip_bits, truncate, edit_header, rename, splice, edit_member],
    "tgz": [flip_bits, truncate, edit_tar, edit_tar, splice, edit_member],
}


def mutate(seed: Seed, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of *seed*: (mutation name, bytes)."""
    mutation = rng.choice(MUTATIONS[seed.kind])
    return mutation.__name__, mutation(seed, rng)
