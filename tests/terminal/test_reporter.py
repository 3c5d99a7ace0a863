"""The command lines' reporter: the exact message lines, and a progress bar only where one
is worth drawing (rendered into a recording terminal console)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mar_tools.core.reporter import Reporter
from mar_tools.terminal.reporter import PROGRESS_THRESHOLD, TerminalReporter


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100), buffer


def test_messages_are_lines_on_stderr_named_after_the_program(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reporter: Reporter = TerminalReporter(prog="torch-model-archiver", show_progress=False)
    reporter.info("installing [b]requirements.txt[/b] with uv...")
    reporter.warning("--extra-files pattern 'x*' matched no file")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "torch-model-archiver: installing [b]requirements.txt[/b] with uv...\n"
        "torch-model-archiver: warning: --extra-files pattern 'x*' matched no file\n"
    )


def test_a_bar_is_drawn_for_big_byte_totals_only() -> None:
    output, buffer = _terminal()
    reporter = TerminalReporter(prog="p", show_progress=True, output=output)
    reporter.start("archiving", PROGRESS_THRESHOLD - 1)
    reporter.advance(10)
    reporter.finish()
    assert buffer.getvalue() == ""
    reporter.start("archiving", PROGRESS_THRESHOLD)
    reporter.advance(PROGRESS_THRESHOLD)
    reporter.finish()
    drawn = buffer.getvalue()
    assert "archiving" in drawn and "64.0/64.0 MiB" in drawn


def test_item_totals_get_a_count_and_unknown_totals_a_spinner() -> None:
    output, buffer = _terminal()
    reporter = TerminalReporter(prog="p", show_progress=True, output=output)
    reporter.start("checking {members}", 3, "items")
    reporter.advance(2)
    reporter.finish()
    assert "checking {members}" in buffer.getvalue() and "2/3" in buffer.getvalue()
    buffer.truncate(0)
    reporter.start("building the environment")
    reporter.finish()
    assert "building the environment" in buffer.getvalue()


def test_without_progress_nothing_is_drawn() -> None:
    output, buffer = _terminal()
    reporter = TerminalReporter(prog="p", show_progress=False, output=output)
    reporter.start("archiving", PROGRESS_THRESHOLD * 10)
    reporter.advance(PROGRESS_THRESHOLD)
    reporter.start("spinning")
    reporter.finish()
    assert buffer.getvalue() == ""


def test_the_steps_of_one_task_change_the_spinner_text_without_restarting_it() -> None:
    output, buffer = _terminal()
    reporter = TerminalReporter(prog="p", show_progress=True, output=output)
    reporter.start("creating the virtualenv", None)
    progress = reporter._progress
    reporter.start("installing requirements.txt with uv", None)
    assert reporter._progress is progress  # the same spinner, its clock not reset
    reporter.info("a message between steps")
    reporter.finish()
    drawn = buffer.getvalue()
    assert "creating the virtualenv" in drawn and "installing requirements.txt with uv" in drawn
    # A bar after a spinner is a new task.
    reporter.start("creating the virtualenv", None)
    progress = reporter._progress
    reporter.start("archiving", PROGRESS_THRESHOLD)
    assert reporter._progress is not progress
    reporter.finish()
    assert reporter._progress is None
