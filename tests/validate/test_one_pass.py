"""The fast paths of a full check give exactly the findings of the paths they replace.

* A DEFLATED torch file (a zip) is scanned from the inflated chunks themselves
  (``scan_zip_chunks``) instead of through buffered streams.
* A tar.gz's large members are scanned while the archive is opened (``early_scan``)
  instead of in a second inflate pass; that scan is used only when the archive's own
  classes do not change its answers.

Each is compared with the old path on legitimate and hostile files, on whole archives and
on mutated ones (flipped bits, truncations).
"""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from mar_tools.core.archive import Member, tar_view
from mar_tools.core.archive.entry_reader import EntryStream
from mar_tools.report.result import ArchiveResult
from mar_tools.validate import content, pipeline
from mar_tools.validate.pickle.policy import Trust
from mar_tools.validate.pickle.scan import scan_member, scan_zip_chunks
from mar_tools.validate.pickle.sniffing import sniff
from tests.validate.builders import TorchFiles, check, manifest, members, write_tgz, write_zip
from tests.validate.mutations import (
    Seed,
    flip_bits,
    make_seeds,
    seed_files,
    tar_bytes,
    truncate,
)
from tests.validate.pickle_corpus import CORPUS
from tests.validate.pickle_legit import MODEL_SOURCE, MODEL_TRUST, Legit

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "/nonexistent/marker"


def pieces(data: bytes, rng: random.Random) -> Iterator[bytes]:
    """*data* cut at random places, from single bytes to megabytes."""
    start = 0
    while start < len(data):
        size = rng.choice((1, 3, 29, 30, 31, 512, 1000, 1054, 4096, 65536, 1 << 20, 4 << 20))
        yield data[start : start + size]
        start += size


def zip_files(torch_files: TorchFiles, legit: list[Legit]) -> list[tuple[str, bytes, Trust]]:
    """Every zip-format serialized file the tests know: hostile and legitimate."""
    found = [(f"x{p.suffix}", p.build(NOWHERE), Trust()) for p in CORPUS]
    found += [(item.name, item.data, MODEL_TRUST) for item in legit]
    found += [(f"{name}.pt", data, Trust()) for name, data in vars(torch_files).items()]
    return [(name, data, trust) for name, data, trust in found if sniff(data[:512], name) == "zip"]


def test_chunked_zip_scans_equal_the_streamed_scan(
    torch_files: TorchFiles, legit: list[Legit]
) -> None:
    files = zip_files(torch_files, legit)
    assert len(files) >= 20
    rng = random.Random(15)
    for name, data, trust in files:
        streamed = scan_member(
            name, io.BufferedReader(io.BytesIO(data)), seekable=False, trust=trust
        )
        for _ in range(3):
            chunked = scan_zip_chunks(name, pieces(data, rng), trust=trust)
            assert chunked == streamed, name
        whole = scan_zip_chunks(name, [memoryview(data)], trust=trust)
        assert whole == streamed, name


def _old_inflated(
    member: Member, stream: EntryStream, trust: content.TrustSource
) -> Iterator[object]:
    """What a full check did with a DEFLATED candidate before the chunk path."""
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    yield from scan_member(member.name, buffered, seekable=False, trust=trust.get())


def _no_early_scan(member: Member, stream: IO[bytes]) -> None:
    """A visit that keeps nothing: every large tar member is read again, as before."""
    return


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ArchiveResult, ArchiveResult]:
    """*path* checked with the fast paths, and with the old ones."""
    fast = check(path)
    with monkeypatch.context() as patched:
        patched.setattr(content, "_scan_inflated", _old_inflated)
        patched.setattr(pipeline, "_early_scan", _no_early_scan)
        slow = check(path)
    return fast, slow


@pytest.fixture
def everything_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """No tar member is kept in memory on open: each goes through the early scan (or, on
    the old path, a second read)."""
    monkeypatch.setattr(tar_view, "TAR_CACHE_FILE_LIMIT", 0)


def _files(torch_files: TorchFiles, legit: list[Legit]) -> dict[str, dict[str, bytes]]:
    module = next(item.data for item in legit if item.name == "module.pt")
    evil = next(p for p in CORPUS if p.suffix == ".pt" and p.build(NOWHERE)[:2] == b"PK")
    return {
        "legit": members(torch_files.state_dict),
        "malicious": members(torch_files.malicious),
        "corpus": members(evil.build(NOWHERE)),
        "seed": seed_files(
            {
                "weights": torch_files.state_dict,
                "legacy": torch_files.legacy,
                "scripted": torch_files.scripted,
                "evil": torch_files.malicious,
            }
        ),
        # A pickled model whose class model.py defines: the early scan's "no" is wrong, so
        # the member must be scanned again with the real answers (and pass).
        "own-class": {
            **members(module),
            "model.py": MODEL_SOURCE.encode(),
            "MAR-INF/MANIFEST.json": manifest(),
        },
        # The serialized file named only by the manifest (no serialized suffix).
        "odd-name": {
            **members(torch_files.malicious),
            "weights.data": torch_files.malicious,
            "MAR-INF/MANIFEST.json": manifest({"serializedFile": "weights.data"}),
        },
    }


@pytest.mark.usefixtures("everything_large")
@pytest.mark.parametrize("kind", ["zip", "tgz"])
def test_archives_get_the_same_findings_both_ways(
    torch_files: TorchFiles,
    legit: list[Legit],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    for label, files in _files(torch_files, legit).items():
        if kind == "zip":
            path = write_zip(tmp_path / f"{label}.mar", files)
        else:
            path = write_tgz(tmp_path / f"{label}.tar.gz", files)
        fast, slow = both_ways(path, monkeypatch)
        assert fast == slow, label
        if label == "malicious":
            assert "pickle.dangerous-global" in {f.code for f in fast.findings}


@pytest.mark.usefixtures("everything_large")
def test_an_archive_class_falls_back_to_a_second_read(
    torch_files: TorchFiles, legit: list[Legit], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early scan of a whole pickled model asked about model.Net, which model.py
    defines: its findings are dropped and the member is read again."""
    files = _files(torch_files, legit)["own-class"]
    path = write_tgz(tmp_path / "m.tar.gz", files)
    opened: list[str] = []
    original = tar_view.TarView.open

    def spy(self: tar_view.TarView, member: Member) -> IO[bytes]:
        opened.append(member.name)
        return original(self, member)

    monkeypatch.setattr(tar_view.TarView, "open", spy)
    result = check(path)
    assert "weights.pt" in opened
    assert "pickle.dangerous-global" not in {f.code for f in result.findings}
    opened.clear()
    check(write_tgz(tmp_path / "plain.tar.gz", members(torch_files.state_dict)))
    assert "weights.pt" not in opened  # scanned on open: not read a second time


def _mutants(seeds: list[Seed], count: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(1515)
    for seed in seeds:
        for index in range(count):
            mutate = flip_bits if index % 2 else truncate
            yield f"{seed.name}-{index}", mutate(seed, rng)


@pytest.mark.slow
@pytest.mark.usefixtures("everything_large")
def test_mutated_archives_get_the_same_findings_both_ways(
    torch_files: TorchFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = seed_files({"weights": torch_files.state_dict, "evil": torch_files.malicious})
    seeds = [seed for seed in make_seeds(files) if seed.name != "stored.mar"]
    for name, data in _mutants(seeds, 24):
        path = tmp_path / (name + (".tar.gz" if "tar.gz" in name else ".mar"))
        path.write_bytes(data)
        fast, slow = both_ways(path, monkeypatch)
        assert fast == slow, name


def test_the_zlib_fallback_gives_the_same_findings(torch_files: TorchFiles, tmp_path: Path) -> None:
    """With ``MAR_INFLATE_BACKEND=zlib`` (checked in a fresh interpreter: the backend is
    chosen at import) the chunk path sees the same bytes and finds the same."""
    path = write_zip(tmp_path / "m.mar", members(torch_files.malicious))
    script = (
        "import sys\n"
        "from mar_tools.core.archive import codec\n"
        "from mar_tools.validate.pipeline import validate_archive\n"
        "result = validate_archive(sys.argv[1])\n"
        "print(codec.BACKEND, sorted((f.code, f.message) for f in result.findings))\n"
    )
    outputs = {}
    for backend in ("zlib", "default"):
        env = {**os.environ, "MAR_INFLATE_BACKEND": backend}
        done = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True,
        )  # fmt: skip
        outputs[backend] = done.stdout.strip()
    assert outputs["zlib"].startswith("zlib [")
    assert "pickle.dangerous-global" in outputs["zlib"]
    assert outputs["zlib"].partition(" ")[2] == outputs["default"].partition(" ")[2]


@pytest.mark.usefixtures("everything_large")
@pytest.mark.parametrize("keep", [0.01, 0.5, 0.99])
def test_a_tar_cut_inside_a_member_gets_the_same_findings_both_ways(
    torch_files: TorchFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: float
) -> None:
    """A well-formed gzip stream holding a tar that ends inside weights.pt (at *keep* of its
    bytes): the early scan's read fails in the tar layer, so it is dropped and the member is
    read as before."""
    files = {"MAR-INF/MANIFEST.json": manifest(), **members(torch_files.malicious)}
    tar, (start, size) = _tar_bytes(files, "weights.pt")
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(gzip.compress(tar[: start + int(size * keep)], mtime=0))
    fast, slow = both_ways(path, monkeypatch)
    assert fast == slow
    assert fast.findings  # something is wrong with a cut archive


def _tar_bytes(files: dict[str, bytes], name: str) -> tuple[bytes, tuple[int, int]]:
    """The tar of *files* under ``m1/``, and where member *name*'s data is in it."""
    tar = tar_bytes(files, "m1")
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        info = archive.getmember(f"m1/{name}")
    return tar, (info.offset_data, info.size)
