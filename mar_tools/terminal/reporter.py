"""The command lines' :class:`~mar_tools.core.reporter.Reporter`: messages on stderr, and a
transient rich progress bar for long tasks on a terminal.

Messages read ``PROG: message`` and ``PROG: warning: message`` (see :mod:`.console`). A task
gets a bar only when progress is shown (an interactive terminal, no ``--quiet``) and it is
worth one: a byte total of at least :data:`PROGRESS_THRESHOLD` (below it the work takes well
under a second and a bar would only flicker), any item total, or a spinner for an unknown
total. A spinner that is started again while it spins only changes its text (the next step
of one task, such as building an environment), so it neither flickers nor resets its clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mar_tools.core.reporter import PROGRESS_THRESHOLD, ProgressUnit
from mar_tools.terminal import console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, TaskID

__all__ = ["PROGRESS_THRESHOLD", "TerminalReporter"]


class TerminalReporter:
    """Prints messages always, as *prog*; draws progress only when *show_progress*.

    *output* is the console for the bar (default: the command line's stderr console).
    """

    def __init__(self, *, prog: str, show_progress: bool, output: Console | None = None) -> None:
        self.prog = prog
        self.show_progress = show_progress
        self.output = output
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._spinning = False

    def info(self, message: str, /) -> None:
        console.info(message, prog=self.prog)

    def warning(self, message: str, /) -> None:
        console.warning(message, prog=self.prog)

    def start(self, task: str, /, total: int | None = None, unit: ProgressUnit = "bytes") -> None:
        if total is None and self._spinning and self._progress is not None:
            # The next step of the same task: the spinner stays, its text changes.
            assert self._task is not None
            self._progress.update(self._task, description=task)
            return
        self.finish()  # one task at a time
        if not self.show_progress or (
            unit == "bytes" and total is not None and total < PROGRESS_THRESHOLD
        ):
            return
        # Imported here: rich.progress costs ~35 ms, wasted on the many small tasks.
        from rich.progress import Progress

        self._progress = Progress(
            *_columns(total, unit), console=self.output or console.stderr(), transient=True
        )
        self._task = self._progress.add_task(task, total=total)
        self._spinning = total is None
        self._progress.start()

    def advance(self, amount: int, /) -> None:
        if self._progress is not None and self._task is not None and amount:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
            self._spinning = False


def _columns(total: int | None, unit: ProgressUnit) -> list[ProgressColumn]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    label = TextColumn("{task.description}", markup=False)
    if total is None:
        return [SpinnerColumn(), label, TimeElapsedColumn()]
    if unit == "items":
        return [label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    return [
        label,
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ]
