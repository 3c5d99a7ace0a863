"""The command line's reporter: warnings on stderr, a rich progress bar for big inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mar_tools.terminal import console
from torch_model_archiver.cli.command import PROG

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

#: Below this much input a build takes well under a second: a bar would only flicker.
PROGRESS_THRESHOLD: Final = 64 << 20


class RichReporter:
    """Prints warnings always; draws a transient progress bar only when *show_progress*.

    *output* is the console for the bar (default: the command line's stderr console).
    """

    def __init__(self, *, show_progress: bool, output: Console | None = None) -> None:
        self.show_progress = show_progress
        self.output = output
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def warning(self, message: str) -> None:
        console.warning(message, prog=PROG)

    def start(self, total_bytes: int, _entries: int) -> None:
        if not self.show_progress or total_bytes < PROGRESS_THRESHOLD:
            return
        # Imported here: rich.progress costs ~35 ms, wasted on the many small builds.
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("archiving"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.output or console.stderr(),
            transient=True,
        )
        self._task = self._progress.add_task("archive", total=total_bytes)
        self._progress.start()

    def advance(self, nbytes: int) -> None:
        if self._progress is not None and self._task is not None and nbytes:
            self._progress.advance(self._task, nbytes)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
