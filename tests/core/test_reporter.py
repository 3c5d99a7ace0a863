"""The library's reporters: the silent default keeps the messages, the recording one every
call in order; both satisfy the one Reporter protocol."""

from __future__ import annotations

from mar_tools.core.reporter import RecordingReporter, Reporter, SilentReporter


def _work(reporter: Reporter) -> None:
    reporter.info("extracting m.mar")
    reporter.start("extracting", 10)
    reporter.advance(4)
    reporter.warning("member x is empty")
    reporter.advance(6)
    reporter.finish()
    reporter.start("building the environment", None)
    reporter.finish()
    reporter.start("checking", 2, "items")
    reporter.advance(2)
    reporter.finish()


def test_the_silent_reporter_keeps_messages_and_ignores_progress() -> None:
    reporter = SilentReporter()
    _work(reporter)
    assert reporter.infos == ["extracting m.mar"]
    assert reporter.warnings == ["member x is empty"]


def test_the_recording_reporter_keeps_every_call_in_order() -> None:
    reporter = RecordingReporter()
    _work(reporter)
    assert reporter.events == [
        ("info", "extracting m.mar"),
        ("start", "extracting", 10, "bytes"),
        ("advance", 4),
        ("warning", "member x is empty"),
        ("advance", 6),
        ("finish",),
        ("start", "building the environment", None, "bytes"),
        ("finish",),
        ("start", "checking", 2, "items"),
        ("advance", 2),
        ("finish",),
    ]
    assert reporter.advanced == 12
    assert reporter.infos == ["extracting m.mar"] and reporter.warnings == ["member x is empty"]
