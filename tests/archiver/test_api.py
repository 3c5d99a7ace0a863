"""The typed Python API and the reporter interface."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import torch_model_archiver
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
from torch_model_archiver.cli.reporter import PROGRESS_THRESHOLD, RichReporter
from torch_model_archiver.spec import ArchiveFormat


class RecordingReporter:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.warnings: list[str] = []
        self.started: tuple[int, int] = (-1, -1)
        self.advanced = 0

    def warning(self, message: str) -> None:
        self.events.append("warning")
        self.warnings.append(message)

    def start(self, total_bytes: int, entries: int) -> None:
        self.events.append("start")
        self.started = (total_bytes, entries)

    def advance(self, nbytes: int) -> None:
        self.events.append("advance")
        self.advanced += nbytes

    def finish(self) -> None:
        self.events.append("finish")


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
    assert reporter.events[:2] == ["warning", "start"] and reporter.events[-1] == "finish"
    assert reporter.warnings == ["--extra-files pattern 'nothing*' matched no file"]
    total = sum(entry.size for entry in result.entries)
    assert reporter.started == (total, len(result.entries))
    assert reporter.advanced == total


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


def test_rich_reporter_draws_a_bar_for_big_inputs_only() -> None:
    buffer = io.StringIO()
    output = Console(file=buffer, force_terminal=True, width=100)
    reporter = RichReporter(show_progress=True, output=output)
    reporter.start(PROGRESS_THRESHOLD - 1, 3)
    reporter.advance(10)
    reporter.finish()
    assert buffer.getvalue() == ""
    reporter.start(PROGRESS_THRESHOLD, 3)
    reporter.advance(PROGRESS_THRESHOLD)
    reporter.finish()
    assert "archiving" in buffer.getvalue()
    quiet = RichReporter(show_progress=False, output=output)
    quiet.start(PROGRESS_THRESHOLD * 10, 3)
    assert quiet._progress is None


def test_summary_line(model_dir: Path) -> None:
    write(model_dir / "extra" / "big.bin", bytes(3 << 20))
    result = build_archive(spec(model_dir))
    line = summary(result, 1.25)
    size = result.path.stat().st_size  # 3 MiB of zeros deflate to a few KiB
    assert 1024 <= size < 10 * 1024
    out = f"{size / 1024:.1f} KiB"
    assert line.startswith(f"Wrote {model_dir / 'm.mar'} (6 files, 3.0 MiB in, {out} out,")
    assert line.endswith(" 1.2 s)")
