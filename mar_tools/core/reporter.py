"""How library code tells its caller what it is doing, without printing anything itself.

Every library entry point (``build_archive``, ``run_archive``, the environment functions)
takes a :class:`Reporter`. The command lines pass one that draws on the terminal
(``mar_tools.terminal.reporter``); the Python API defaults to :class:`SilentReporter`, which
prints nothing and keeps the messages; tests use :class:`RecordingReporter`.

A reporter receives messages (:meth:`~Reporter.info` for what is being done,
:meth:`~Reporter.warning` for what the user should know) and the progress of one task at a
time: :meth:`~Reporter.start` with a total in bytes or items when it is known (a bar) or
None (a spinner), :meth:`~Reporter.advance` as work is done, :meth:`~Reporter.finish` when
the task ends, successfully or not. A long task made of steps (building an environment)
calls :meth:`~Reporter.start` with None for each step: the spinner stays, its text changes.
Calls come from the thread that called the library.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol, TypeAlias

#: What a task's total and its advances count.
ProgressUnit: TypeAlias = Literal["bytes", "items"]

#: The smallest byte count worth showing progress for: below it the work takes well under
#: a second, and a bar or spinner would only flicker. Terminal reporters draw nothing for a
#: byte total below it; library code starts no task for smaller work.
PROGRESS_THRESHOLD: Final = 64 << 20


class Reporter(Protocol):
    """Receives the messages and progress of library calls (see the module docstring)."""

    def info(self, message: str, /) -> None:
        """What is being done, worth a line (``installing requirements.txt with uv...``)."""

    def warning(self, message: str, /) -> None:
        """Something the user should know that does not stop the work."""

    def start(self, task: str, /, total: int | None = None, unit: ProgressUnit = "bytes") -> None:
        """Task *task* (``archiving``) begins; the :meth:`advance` calls that follow add up
        to *total* *unit* (None: unknown)."""

    def advance(self, amount: int, /) -> None:
        """*amount* more of the task's unit is done."""

    def finish(self) -> None:
        """The task ended (successfully or not)."""


class SilentReporter:
    """Prints nothing: keeps the messages in :attr:`infos` and :attr:`warnings`, ignores
    progress. The default of every library entry point."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []

    def info(self, message: str, /) -> None:
        self.infos.append(message)

    def warning(self, message: str, /) -> None:
        self.warnings.append(message)

    def start(self, task: str, /, total: int | None = None, unit: ProgressUnit = "bytes") -> None:
        pass

    def advance(self, amount: int, /) -> None:
        pass

    def finish(self) -> None:
        pass


class RecordingReporter(SilentReporter):
    """Keeps every call, progress included, in :attr:`events` in order:
    ``("info", message)``, ``("warning", message)``, ``("start", task, total, unit)``,
    ``("advance", amount)``, ``("finish",)``."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[object, ...]] = []
        #: The sum of every :meth:`advance` call.
        self.advanced = 0

    def info(self, message: str, /) -> None:
        super().info(message)
        self.events.append(("info", message))

    def warning(self, message: str, /) -> None:
        super().warning(message)
        self.events.append(("warning", message))

    def start(self, task: str, /, total: int | None = None, unit: ProgressUnit = "bytes") -> None:
        self.events.append(("start", task, total, unit))

    def advance(self, amount: int, /) -> None:
        self.events.append(("advance", amount))
        self.advanced += amount

    def finish(self) -> None:
        self.events.append(("finish",))
