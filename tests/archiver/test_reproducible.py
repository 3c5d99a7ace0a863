"""Reproducibility: with SOURCE_DATE_EPOCH, equal inputs give equal bytes in every format;
without it, two builds differ only in ``createdOn``."""

from __future__ import annotations

import json
import os
import time
import zipfile
from functools import partial
from pathlib import Path

import pytest

from tests.archiver.outputs import MANIFEST, archive_bytes, entries, run_cli, write
from torch_model_archiver import ArchiveSpec, InputError, build_archive
from torch_model_archiver.compression import CHUNK_SIZE
from torch_model_archiver.spec import ArchiveFormat

EPOCH = "1700000000"
ARGS = [
    "--model-name",
    "m",
    "--handler",
    "my_handler:fn",
    "-v",
    "1.0",
    "--serialized-file",
    "weights.pt",
    "--model-file",
    "model.py",
    "--extra-files",
    "extra,index_to_name.json,big.txt",
    "-r",
    "requirements.txt",
    "-c",
    "model-config.yaml",
    "-f",
]


def touch_everything(root: Path, when: float) -> None:
    for path in root.rglob("*"):
        os.utime(path, (when, when), follow_symlinks=False)


@pytest.mark.parametrize("fmt", [fmt.value for fmt in ArchiveFormat])
def test_source_date_epoch_gives_identical_bytes(model_dir: Path, fmt: str) -> None:
    write(model_dir / "big.txt", b"reproducible " * (3 * CHUNK_SIZE // 13))
    env = {"SOURCE_DATE_EPOCH": EPOCH}
    outputs = []
    for when, umask in ((1_000_000_000, 0o022), (1_600_000_000, 0o077)):
        touch_everything(model_dir, when)  # a fresh checkout has other mtimes
        previous = os.umask(umask)
        try:
            outcome = run_cli(
                [*ARGS, "--archive-format", fmt, "--export-path", f"out{when}"], env=env
            )
        finally:
            os.umask(previous)
        assert outcome.code == 0, outcome.stderr
        produced = next((model_dir / f"out{when}").iterdir())
        outputs.append(archive_bytes(produced))
    assert outputs[0] == outputs[1]


def test_entry_times_are_the_epoch_in_utc(model_dir: Path) -> None:
    assert run_cli(ARGS[:6], env={"SOURCE_DATE_EPOCH": EPOCH, "TZ": "America/Denver"}).code == 0
    with zipfile.ZipFile(model_dir / "m.mar") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_no_archive_times_are_the_epoch(model_dir: Path) -> None:
    outcome = run_cli(
        [*ARGS[:6], "--archive-format", "no-archive"], env={"SOURCE_DATE_EPOCH": EPOCH}
    )
    assert outcome.code == 0
    assert {path.stat().st_mtime for path in (model_dir / "m").rglob("*")} == {float(EPOCH)}


def test_without_epoch_only_created_on_differs(model_dir: Path) -> None:
    write(model_dir / "big.txt", b"x" * 10)
    results = []
    for clock in (1_700_000_000.0, 1_800_000_000.0):
        spec = ArchiveSpec(
            model_name="m",
            handler="handler.py",
            version="1",
            base_dir=model_dir,
            extra_files=("extra",),
            force=True,
        )
        results.append(build_archive(spec, clock=partial(float, clock)))
        results[-1].path.rename(model_dir / f"m{clock}.mar")
    first, second = (model_dir / "m1700000000.0.mar", model_dir / "m1800000000.0.mar")
    with zipfile.ZipFile(first) as one, zipfile.ZipFile(second) as two:
        for a, b in zip(one.infolist(), two.infolist(), strict=True):
            if a.filename == MANIFEST:
                assert a.date_time == b.date_time, "manifest time = newest input's mtime"
                continue
            assert (a.filename, a.date_time, a.CRC, a.external_attr, a.compress_type) == (
                b.filename,
                b.date_time,
                b.CRC,
                b.external_attr,
                b.compress_type,
            )
    manifests = [json.loads(entries(path)[MANIFEST]) for path in (first, second)]
    assert manifests[0]["createdOn"] != manifests[1]["createdOn"]
    manifests[0]["createdOn"] = manifests[1]["createdOn"]
    assert manifests[0] == manifests[1]


def test_created_on_without_epoch_is_local_time_of_the_build(model_dir: Path) -> None:
    spec = ArchiveSpec(model_name="m", handler="handler.py", version="1", base_dir=model_dir)
    result = build_archive(spec, clock=lambda: 86_400.0 * 365)
    expected = time.strftime("%d/%m/%Y %H:%M:%S", time.localtime(86_400.0 * 365))
    assert result.manifest.created_on == expected


@pytest.mark.parametrize("fmt", [fmt.value for fmt in ArchiveFormat])
def test_epoch_zero_and_no_files_at_all(model_dir: Path, fmt: str) -> None:
    """A built-in handler and nothing else: the manifest's own time must not be the clock."""
    outputs = []
    for clock in (1_000_000.0, 2_000_000.0):
        spec = ArchiveSpec(
            model_name="m",
            handler="image_classifier",
            version="1",
            base_dir=model_dir,
            archive_format=ArchiveFormat(fmt),
            force=True,
            source_date_epoch=0,
        )
        outputs.append(archive_bytes(build_archive(spec, clock=partial(float, clock)).path))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("epoch", [-1, 10**20])
def test_out_of_range_epoch_through_the_api_is_an_input_error(model_dir: Path, epoch: int) -> None:
    """10**20 used to raise OverflowError from time.gmtime, after the checks had passed."""
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        source_date_epoch=epoch,
    )
    with pytest.raises(InputError, match=f"SOURCE_DATE_EPOCH must be between 0 and .*not {epoch}"):
        build_archive(spec)
    assert not (model_dir / "m.mar").exists()
