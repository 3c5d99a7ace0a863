"""Benchmark ``mar validate`` against ``unzip -t`` (and ``zipinfo``) on a 1 GiB archive.

Run: ``.venv/bin/python -m benchmarks.validate [--scale S] [--repeats N] [--output FILE]``
(writes ``benchmarks/VALIDATE.md`` by default). ``run(scale, repeats)`` is what
``python -m benchmarks`` calls.

Archives (built once per scale under ``$MAR_BENCH_DIR``, default ``/tmp/mar-bench-validate``):
a model whose ``weights.pt`` is a real ``torch.save`` file of ``1 GiB × scale`` bf16-like
values (what deflate compresses about 20%), packed as upstream 0.12's ``default`` format
(everything DEFLATED) and as ``zip-store`` (everything STORED), plus a ``.tar.gz``. The page
cache is warmed before every timed run of either command, so both read from memory.

Targets (issue 3): full check within 1.5× of ``unzip -t`` on the same archive; ``--quick``
under 0.5 s wall. Issue 15: the full check within 1.15× of the one-thread inflate limit on
the one-entry archive and within 0.65× of it on the sharded one (``SHARDS`` torch.save
shards, checked two at a time), and within 0.5× of ``tar -tzf`` on the tar.gz. The limit is
measured in this process, alternately with ``mar validate``: the fastest available inflate
(isal's igzip, which computes the CRC as it decodes, isal_zlib + crc32, or zlib) decoding
and CRC-ing the same compressed bytes in one thread. Next to the tar.gz row, reported only:
the same for the tar.gz's whole gzip stream (igzip, CRC and length checked).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Comparison,
    Measurement,
    commands_block,
    interleaved,
    machine_info,
    markdown_table,
    measure,
    run_once,
    warm,
)

GiB = 1 << 30
#: How many large entries the sharded archive holds.
SHARDS = 4
#: Pieces the inflate limit reads and produces.
PIECE = 1 << 20
HERE = Path(__file__).resolve().parent
MAR = Path(sys.executable).parent / "mar"
HANDLER = b"""\
from ts.torch_handler.base_handler import BaseHandler


class Handler(BaseHandler):
    def handle(self, data, context):
        return data
"""
MODEL = b"import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n"
MANIFEST = b"""{
  "createdOn": "25/11/2026 11:20:18",
  "runtime": "python",
  "model": {
    "modelName": "big",
    "serializedFile": "weights.pt",
    "handler": "handler.py",
    "modelFile": "model.py",
    "modelVersion": "1.0"
  },
  "archiverVersion": "0.12.0"
}"""


def work_dir(scale: float) -> Path:
    """Where the archives of *scale* are kept between runs."""
    base = Path(os.environ.get("MAR_BENCH_DIR", "/tmp/mar-bench-validate"))
    return base / f"scale-{scale:g}"


def bf16_weights(path: Path, size: int) -> None:
    """A torch.save file holding *size* bytes of bf16 values drawn from N(0, 0.02)."""
    import numpy as np
    import torch

    values = np.empty(size // 2, dtype=np.uint16)
    rng = np.random.default_rng(0)
    step = 1 << 24
    for start in range(0, values.size, step):
        chunk = rng.standard_normal(min(step, values.size - start), dtype=np.float32) * 0.02
        values[start : start + chunk.size] = (chunk.view(np.uint32) >> 16).astype(np.uint16)
    tensor = torch.from_numpy(values.view(np.int16)).view(torch.bfloat16)
    torch.save({"weight": tensor}, path)


def archive_paths(scale: float) -> dict[str, Path]:
    """Where the benchmark archives of *scale* are."""
    root = work_dir(scale)
    return {
        "deflated": root / "default.mar",
        "stored": root / "zip-store.mar",
        "tgz": root / "model.tar.gz",
        "small": root / "small.mar",
        "shards": root / "shards.mar",
    }


def ensure_built(scale: float) -> dict[str, Path]:
    """The archives of *scale*, built on first use in a child process (so this process never
    imports torch or numpy, whose memory would inflate the peak RSS of every timed child)."""
    archives = archive_paths(scale)
    if not all(path.exists() for path in archives.values()):
        command = [
            sys.executable,
            "-m",
            "benchmarks.validate",
            "--build-only",
            "--scale",
            str(scale),
        ]
        subprocess.run(command, check=True, cwd=HERE.parent)
    return archives


def build(scale: float) -> dict[str, Path]:
    """Build the benchmark archives for *scale* (imports torch and numpy)."""
    archives = archive_paths(scale)
    root = work_dir(scale)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    weights = root / "weights.pt"
    bf16_weights(weights, max(int(GiB * scale), 1 << 20))
    small = {"handler.py": HANDLER, "model.py": MODEL}
    for key, method in (("deflated", zipfile.ZIP_DEFLATED), ("stored", zipfile.ZIP_STORED)):
        with zipfile.ZipFile(archives[key], "w", method, compresslevel=1) as archive:
            for name, data in small.items():
                archive.writestr(name, data)
            archive.write(weights, "weights.pt")
            archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
    with tarfile.open(archives["tgz"], "w:gz", compresslevel=1) as archive:
        for name, data in {**small, "MAR-INF/MANIFEST.json": MANIFEST}.items():
            (root / "tmp").write_bytes(data)
            archive.add(root / "tmp", f"big/{name}")
        archive.add(weights, "big/weights.pt")
    _sharded(archives["shards"], root, weights, small)
    light = MANIFEST.replace(b'    "serializedFile": "weights.pt",\n', b"")
    with zipfile.ZipFile(archives["small"], "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**small, "MAR-INF/MANIFEST.json": light}.items():
            archive.writestr(name, data)
    (root / "tmp").unlink()
    weights.unlink()
    return archives


def _sharded(path: Path, root: Path, weights: Path, small: dict[str, bytes]) -> None:
    """*path*: the weights as :data:`SHARDS` ``torch.save`` shards (a sharded checkpoint),
    each DEFLATED like upstream ``default``, next to the small files."""
    import torch

    whole = torch.load(weights)["weight"]
    shard = root / "shard.pt"
    manifest = MANIFEST.replace(b'"weights.pt"', b'"shard-1-of-4.pt"')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in small.items():
            archive.writestr(name, data)
        for index, part in enumerate(whole.chunk(SHARDS), start=1):
            torch.save({"weight": part.clone()}, shard)
            archive.write(shard, f"shard-{index}-of-{SHARDS}.pt")
        archive.writestr("MAR-INF/MANIFEST.json", manifest)
    shard.unlink()


def deflated_entries(path: Path) -> list[tuple[int, int, int]]:
    """(data offset, compressed size, CRC-32) of every DEFLATED entry of zip *path*."""
    found = []
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED:
                continue
            raw.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", raw.read(4))
            start = info.header_offset + 30 + name_len + extra_len
            found.append((start, info.compress_size, info.CRC))
    return found


def _inflaters() -> dict[str, Callable[[], tuple[Callable[[memoryview], None], Callable[[], int]]]]:
    """The one-thread inflate + CRC-32 implementations available here, by name: each makes
    (feed(compressed piece), crc()) for one raw deflate stream, output in 1 MiB pieces."""
    found: dict[str, Callable[[], tuple[Callable[[memoryview], None], Callable[[], int]]]] = {}

    def with_crc(
        module: Any,
    ) -> Callable[[], tuple[Callable[[memoryview], None], Callable[[], int]]]:
        def make() -> tuple[Callable[[memoryview], None], Callable[[], int]]:
            decoder = module.decompressobj(-15)
            state = [0]

            def feed(piece: memoryview) -> None:
                data: bytes | memoryview = piece
                while data:
                    out = decoder.decompress(data, PIECE)
                    state[0] = module.crc32(out, state[0])
                    data = decoder.unconsumed_tail

            return feed, lambda: state[0]

        return make

    found["zlib inflate + zlib.crc32"] = with_crc(zlib)
    try:
        from isal import igzip_lib, isal_zlib
    except ImportError:
        return found
    found["isal_zlib inflate + isal crc32"] = with_crc(isal_zlib)

    def igzip() -> tuple[Callable[[memoryview], None], Callable[[], int]]:
        decoder = igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP_NO_HDR)

        def feed(piece: memoryview) -> None:
            decoder.decompress(piece, PIECE)
            while not decoder.needs_input and not decoder.eof:
                decoder.decompress(b"", PIECE)

        return feed, lambda: int(decoder.crc)

    found["isal igzip inflate (CRC while decoding)"] = igzip
    return found


def inflate_once(
    path: Path, make: Callable[[], tuple[Callable[[memoryview], None], Callable[[], int]]]
) -> float:
    """Seconds to inflate and CRC every DEFLATED entry of *path* in this thread (compressed
    bytes read from the page cache in 1 MiB pieces); fails on a CRC mismatch."""
    buffer = bytearray(PIECE)
    view = memoryview(buffer)
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as raw:
        for start, size, crc in deflated_entries(path):
            feed, result = make()
            done = 0
            while done < size:
                count = os.preadv(raw.fileno(), [view[: min(PIECE, size - done)]], start + done)
                feed(view[:count])
                done += count
            if result() != crc:
                raise RuntimeError(f"{path}: CRC mismatch in the inflate limit")
    return time.perf_counter() - started


def versus_inflate_limit(path: Path, repeats: int) -> tuple[Measurement, Measurement]:
    """``mar validate`` on *path* and the one-thread inflate limit of its DEFLATED bytes,
    timed alternately (limit, validate, limit, ...), the page cache warmed before each. The
    limit is the fastest implementation of one calibration round (see :func:`_inflaters`),
    timed in this process: no interpreter start-up, no scanning, no other check."""
    warm(path)
    calibration = {name: inflate_once(path, make) for name, make in _inflaters().items()}
    fastest = min(calibration, key=calibration.__getitem__)
    make = _inflaters()[fastest]
    argv = [str(MAR), "validate", str(path)]
    limit, full, peak = _alternately(path, argv, lambda: inflate_once(path, make), repeats)
    tried = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in calibration.items())
    notes = {"archive": f"{path.stat().st_size / 2**20:.0f} MiB", "order": "interleaved"}
    baseline = Measurement(
        f"one-thread inflate + CRC limit: {fastest}",
        f"in-process: {fastest} of every DEFLATED entry of {path}",
        tuple(limit),
        None,
        {**notes, "calibration (1 run each)": tried},
    )
    return Measurement("mar validate", shlex.join(argv), tuple(full), peak, notes), baseline


def _alternately(
    path: Path, argv: list[str], limit_once: Callable[[], float], repeats: int
) -> tuple[list[float], list[float], int]:
    """*repeats* rounds of the in-process limit and the command *argv*, one after the other,
    the page cache warmed with *path* before each: (limit seconds, command seconds, the
    command's peak RSS)."""
    limit: list[float] = []
    full: list[float] = []
    peak = 0
    for _ in range(repeats):
        warm(path)
        limit.append(limit_once())
        warm(path)
        elapsed, rss = run_once(argv)
        full.append(elapsed)
        peak = max(peak, rss)
    return limit, full, peak


def gzip_inflate_once(path: Path) -> float:
    """Seconds to inflate and CRC the whole gzip stream of *path* in this thread with
    igzip (compressed bytes read from the page cache in 1 MiB pieces); fails on a CRC or
    length mismatch with the gzip trailer."""
    from isal import igzip_lib

    buffer = bytearray(PIECE)
    view = memoryview(buffer)
    started = time.perf_counter()
    decoder = igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP)
    produced = 0
    with open(path, "rb", buffering=0) as raw:
        while count := raw.readinto(view):
            produced += len(decoder.decompress(view[:count], PIECE))
            while not decoder.needs_input and not decoder.eof:
                produced += len(decoder.decompress(b"", PIECE))
        raw.seek(-8, os.SEEK_END)
        crc, length = struct.unpack("<II", raw.read(8))
    if not decoder.eof or int(decoder.crc) != crc or produced & 0xFFFFFFFF != length:
        raise RuntimeError(f"{path}: CRC or length mismatch in the gzip inflate limit")
    return time.perf_counter() - started


def versus_gzip_limit(path: Path, repeats: int) -> tuple[Measurement, Measurement] | None:
    """``mar validate`` on the tar.gz *path* and the one-thread igzip inflate + CRC of its
    gzip stream, timed alternately, the page cache warmed before each; None without isal."""
    try:
        import isal  # noqa: F401
    except ImportError:
        return None
    argv = [str(MAR), "validate", str(path)]
    limit, full, peak = _alternately(path, argv, lambda: gzip_inflate_once(path), repeats)
    notes = {"archive": f"{path.stat().st_size / 2**20:.0f} MiB", "order": "interleaved"}
    baseline = Measurement(
        "one-thread gzip inflate + CRC limit: isal igzip",
        f"in-process: igzip inflate of the whole gzip stream of {path}",
        tuple(limit),
        None,
        notes,
    )
    return Measurement("mar validate", shlex.join(argv), tuple(full), peak, notes), baseline


def _compare(
    title: str, subject: Measurement, baseline: Measurement, target: str, met: bool | None
) -> Comparison:
    return Comparison(title, subject, baseline, target=target, met=met)


def run(scale: float = 1.0, repeats: int = 3) -> list[Comparison]:
    """Measure every comparison at *scale* (1.0 = a 1 GiB model), *repeats* runs each."""
    archives = ensure_built(scale)
    at_size = scale >= 1  # the targets are set for a 1 GiB archive; smaller runs only report
    label = f"{scale:g} GiB" if scale >= 1 else f"{scale * 1024:g} MiB"
    results: list[Comparison] = []
    for key, what in (("deflated", "DEFLATED like upstream `default`"),
                      ("stored", "STORED like `zip-store`")):  # fmt: skip
        path = archives[key]
        size = f"{path.stat().st_size / 2**20:.0f} MiB archive"

        def before(p: Path = path) -> None:
            warm(p)

        unzip = measure(
            "unzip -t",
            ["unzip", "-tqq", str(path)],
            repeats=repeats,
            before_each=before,
            notes={"archive": size},
        )
        full = measure(
            "mar validate",
            [str(MAR), "validate", str(path)],
            repeats=repeats,
            before_each=before,
            notes={"archive": size},
        )
        results.append(
            _compare(
                f"{label} .mar, {what}: mar validate (full) vs unzip -t",
                full,
                unzip,
                "≤ 1.5× unzip -t",
                full.median <= 1.5 * unzip.median if at_size else None,
            )
        )
        listing = measure(
            "zipinfo -1", ["zipinfo", "-1", str(path)], repeats=repeats, before_each=before
        )
        quick = measure(
            "mar validate --quick",
            [str(MAR), "validate", "--quick", str(path)],
            repeats=repeats,
            before_each=before,
        )
        results.append(
            _compare(
                f"{label} .mar, {what}: mar validate --quick vs zipinfo",
                quick,
                listing,
                "< 0.5 s wall",
                quick.median < 0.5 if at_size else None,
            )
        )
    tgz = archives["tgz"]
    mar_tgz, tar = interleaved(
        ("mar validate", [str(MAR), "validate", str(tgz)]),
        ("tar -tzf", ["tar", "-tzf", str(tgz)]),
        repeats=repeats,
        before_each=lambda: warm(tgz),
        notes={"order": "interleaved"},
    )
    results.append(
        _compare(
            f"{label} .tar.gz: mar validate vs tar -tzf (reported)", mar_tgz, tar, "reported", None
        )
    )
    results.append(
        _compare(
            f"{label} .tar.gz: mar validate (full) against tar -tzf, round two",
            mar_tgz,
            tar,
            "≤ 0.5× tar -tzf",
            mar_tgz.median <= 0.5 * tar.median if at_size else None,
        )
    )
    against_gzip = versus_gzip_limit(tgz, repeats)
    if against_gzip is not None:
        results.append(
            _compare(
                f"{label} .tar.gz: mar validate (full) vs the one-thread gzip inflate limit "
                "(reported)",
                *against_gzip,
                "reported",
                None,
            )
        )
    for key, what, factor in (
        ("deflated", "one large DEFLATED entry", 1.15),
        ("shards", f"{SHARDS} large DEFLATED entries", 0.65),
    ):
        subject, limit = versus_inflate_limit(archives[key], repeats)
        results.append(
            _compare(
                f"{label} .mar, {what}: mar validate (full) vs the one-thread inflate limit",
                subject,
                limit,
                f"≤ {factor:g}× the inflate limit, start-up included",
                subject.median <= factor * limit.median if at_size else None,
            )
        )
    small = archives["small"]
    python = measure(
        "python -c 'import zipfile'", [sys.executable, "-c", "import zipfile"], repeats=repeats
    )
    startup = measure("mar validate", [str(MAR), "validate", str(small)], repeats=repeats)
    results.append(
        _compare(
            "startup: mar validate on a 1 KiB .mar vs a bare interpreter (reported)",
            startup,
            python,
            "reported",
            None,
        )
    )
    return results


def import_profile(path: Path, top: int = 10) -> str:
    """The slowest top-level imports (with what they pull in) of ``mar validate`` on *path*."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mar_tools", "validate", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        top_level = len(parts) == 3 and not parts[2].startswith("  ")  # not nested
        if top_level and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    rows.sort(reverse=True)
    listed = [f"- `{name}`: {micros / 1000:.0f} ms" for micros, name in rows[:top]]
    torch = any(name == "torch" or name.startswith("torch.") for _, name in rows)
    return "\n".join([*listed, f"- torch imported: {'yes' if torch else 'no'}"])


def render(
    comparisons: Sequence[Comparison], scale: float, repeats: int, load: str, imports: str
) -> str:
    """VALIDATE.md: how the numbers were made, the table, the commands, the imports."""
    return "\n".join(
        [
            "# `mar validate` benchmark",
            "",
            f"Machine: {machine_info()}. Scale {scale:g} ({repeats} runs each, median shown "
            "in the ratio). Other load during the run: " + load + ".",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.validate"
            + (f" --scale {scale:g}" if scale != 1 else "")
            + "` (builds the archives once under `/tmp/mar-bench-validate`). The page cache "
            "is warmed before every timed run of both commands.",
            "",
            markdown_table(comparisons),
            "",
            "Commands timed:",
            "",
            commands_block(comparisons),
            "",
            "Slowest top-level imports of `mar validate` on the small archive, each with what "
            "it pulls in (`python -X importtime`, one run):",
            "",
            imports,
            "",
            "The never-crash property is exercised separately: `.venv/bin/python -m "
            "benchmarks.fuzz_validate --count 6000 --seed 1` validates mutated archives in "
            "process (and some as real `mar validate` processes) and exits 1 on any traceback.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the benchmark and write the Markdown report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.validate")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a 1 GiB model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "VALIDATE.md")
    parser.add_argument("--load", default="none known", help="describe concurrent load")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_only:
        build(args.scale)
        return 0
    comparisons = run(args.scale, args.repeats)
    imports = import_profile(archive_paths(args.scale)["small"])
    text = render(comparisons, args.scale, args.repeats, args.load, imports)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
