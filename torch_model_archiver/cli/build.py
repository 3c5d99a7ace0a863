"""What the command does once its flags are parsed: build, show progress, summarize."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mar_tools.core.allocator import keep_freed_buffers
from mar_tools.core.sizes import human_size
from mar_tools.terminal import console, settings
from mar_tools.terminal.reporter import TerminalReporter
from torch_model_archiver.builder import BuildResult, build_archive
from torch_model_archiver.config_fields import spec_from_fields
from torch_model_archiver.errors import ModelArchiverError, OutputWriteError
from torch_model_archiver.spec import ExtraFilesLayout, source_date_epoch_from


def run_build(options: Mapping[str, Any], environ: Mapping[str, str], prog: str) -> int:
    """Build from the parsed *options*; return the exit code (errors are raised). Messages
    are printed as *prog*."""
    # The flags are upstream's ModelArchiverConfig fields (no --export-path: None, "here"),
    # read straight into a spec: no config object, so no dataclasses import on a build.
    spec = spec_from_fields(
        options,
        source_date_epoch=source_date_epoch_from(environ),
        extra_files_layout=ExtraFilesLayout(options["extra_files_layout"]),
    )
    interactive = console.is_interactive()
    verbose = settings.current().verbose
    digest_file = Path(options["digest_file"]) if options["digest_file"] else None
    if digest_file is not None:
        check_digest_file(digest_file)
    reporter = TerminalReporter(prog=prog, show_progress=interactive)
    # Process-wide (see its doc), and only once large chunks are to be compressed: loading
    # ctypes for it costs ~3 ms, for nothing on a build of small or incompressible files.
    tune = functools.cache(functools.partial(keep_freed_buffers, environ))
    started = time.perf_counter()
    result = build_archive(spec, reporter=reporter, jobs=options["jobs"], before_deflating=tune)
    seconds = time.perf_counter() - started
    digest = None
    if interactive or verbose or digest_file is not None:
        from mar_tools.core.digest import archive_digest

        digest = archive_digest(result.path).value
    if digest_file is not None and digest is not None:
        write_digest_file(digest_file, digest)
    if interactive or verbose:
        err = console.stderr()
        err.print(console.literal(summary(result, seconds)))
        err.print(console.literal(f"Content digest: {digest}"))
    return 0


def check_digest_file(path: Path) -> None:
    """Raise before building when *path* cannot be written (its directory is missing)."""
    directory = path.parent if str(path.parent) else Path()
    if not directory.is_dir():
        raise ModelArchiverError(f"--digest-file {path}: the directory {directory} does not exist.")
    if path.is_dir():
        raise ModelArchiverError(f"--digest-file {path}: is a directory.")


def write_digest_file(path: Path, digest: str) -> None:
    """Write ``digest`` and a newline to *path*, whole or not at all."""
    from mar_tools.core.fs import write_atomically

    try:
        write_atomically(path, f"{digest}\n".encode("ascii"))
    except OSError as exc:
        raise OutputWriteError(
            f"--digest-file {path}: cannot write ({exc.strerror or exc}); the archive was written."
        ) from exc


def summary(result: BuildResult, seconds: float) -> str:
    """One line: what was written, from how much input, in how long."""
    files = len(result.entries)
    size = _output_size(result)
    return (
        f"Wrote {result.path} ({files} files, {human_size(result.input_size)} in, "
        f"{human_size(size)} out, {seconds:.1f} s)"
    )


def _output_size(result: BuildResult) -> int:
    if result.path.is_file():
        return result.path.stat().st_size
    return sum(entry.stored_size for entry in result.entries)
