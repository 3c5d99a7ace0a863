"""The typed Python API and the reporter interface."""

from __future__ import annotations

from pathlib import Path

import pytest

import mar_tools.core.reporter
import torch_model_archiver
from mar_tools.core.reporter import RecordingReporter
from tests.archiver.outputs import MANIFEST, write
from torch_model_archiver import (
    ArchiveSpec,
    BuildResult,
    InputError,
    OutputExistsError,
    SilentReporter,
    build_archive,
    plan_archive,
)
from torch_model_archiver.cli.build import summary
from torch_model_archiver.spec import ArchiveFormat


def spec(model_dir: Path, **changes: object) -> ArchiveSpec:
    values: dict[str, object] = {
        "model_name": "m",
        "handler": "handler.py",
        "version": "1",
        "base_dir": model_dir,
        "extra_files": ("extra", "nothing*"),
    }
    values.update(changes)
    return ArchiveSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", list(ArchiveFormat))
def test_reporter_sees_every_byte_once(model_dir: Path, fmt: ArchiveFormat) -> None:
    write(model_dir / "extra" / "big.bin", bytes(3 << 20))
    reporter = RecordingReporter()
    result = build_archive(spec(model_dir, archive_format=fmt), reporter=reporter)
    total = sum(entry.size for entry in result.entries)
    assert reporter.events[:2] == [
        ("warning", "--extra-files pattern 'nothing*' matched no file"),
        ("start", "archiving", total, "bytes"),
    ]
    assert reporter.events[-1] == ("finish",)
    assert {event[0] for event in reporter.events[2:-1]} == {"advance"}
    assert reporter.advanced == total
    assert reporter.infos == []


def test_build_result_describes_the_output(model_dir: Path) -> None:
    result = build_archive(spec(model_dir))
    assert isinstance(result, BuildResult)
    assert result.path == model_dir / "m.mar"
    assert result.archive_format is ArchiveFormat.DEFAULT
    assert [entry.name for entry in result.entries] == [
        ".env",
        "a.txt",
        "handler.py",
        "sub/b.txt",
        MANIFEST,
    ]
    assert result.warnings == ("--extra-files pattern 'nothing*' matched no file",)
    assert result.manifest.model.model_name == "m"
    assert result.input_size == sum(entry.size for entry in result.entries)


def test_plan_archive_checks_without_writing(model_dir: Path) -> None:
    plan = plan_archive(spec(model_dir))
    assert [member.arcname for member in plan.members] == [
        ".env",
        "a.txt",
        "handler.py",
        "sub/b.txt",
    ]
    assert plan.total_size == sum(member.size for member in plan.members)
    assert not (model_dir / "m.mar").exists()
    with pytest.raises(InputError):
        plan_archive(spec(model_dir, extra_files=("missing",)))
    write(model_dir / "m.mar", b"x")
    with pytest.raises(OutputExistsError):
        plan_archive(spec(model_dir))


def test_silent_reporter_keeps_warnings(model_dir: Path) -> None:
    reporter = SilentReporter()
    build_archive(spec(model_dir), reporter=reporter)
    assert reporter.warnings == ["--extra-files pattern 'nothing*' matched no file"]


def test_every_public_name_resolves() -> None:
    for name in torch_model_archiver.__all__:
        assert getattr(torch_model_archiver, name) is not None
    with pytest.raises(AttributeError):
        torch_model_archiver.nothing_here  # noqa: B018


def test_the_public_reporter_names_are_the_core_ones() -> None:
    # Documented in docs/archiver.md: one Reporter protocol for the whole distribution.
    assert torch_model_archiver.Reporter is mar_tools.core.reporter.Reporter
    assert torch_model_archiver.SilentReporter is mar_tools.core.reporter.SilentReporter


def test_summary_line(model_dir: Path) -> None:
    write(model_dir / "extra" / "big.bin", bytes(3 << 20))
    result = build_archive(spec(model_dir))
    line = summary(result, 1.25)
    size = result.path.stat().st_size  # 3 MiB of zeros deflate to a few KiB
    assert 1024 <= size < 10 * 1024
    out = f"{size / 1024:.1f} KiB"
    assert line.startswith(f"Wrote {model_dir / 'm.mar'} (6 files, 3.0 MiB in, {out} out,")
    assert line.endswith(" 1.2 s)")
