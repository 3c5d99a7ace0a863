"""The worker's metrics capture: metric lines kept without logging them only when logging
them would reach the capture and nothing else; any logging set-up of the handler's own that
could see or stop them gets them through logging, as in TorchServe."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

from mar_tools.worker.metrics_capture import MetricsCapture

LINE = "[METRICS]HandlerTime.Milliseconds:0.11|#ModelName:m,Level:Model|#type:GAUGE|#hostname:h,1,r"
NAME = "ts.metrics.caching_metric"


@pytest.fixture
def capture() -> Iterator[Callable[[], tuple[MetricsCapture, io.StringIO]]]:
    """Installs the worker's logging set-up when called (root at INFO, one handler with the
    capture as its filter, ``%(message)s``; pytest's own log handlers are taken off root,
    they would see the lines); everything it changed is put back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, root.filters[:], logging.getLogRecordFactory())

    def install() -> tuple[MetricsCapture, io.StringIO]:
        output = io.StringIO()
        handler = logging.StreamHandler(output)
        handler.setFormatter(logging.Formatter("%(message)s"))
        capture = MetricsCapture()
        handler.addFilter(capture)
        capture.handler = handler
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        logging.setLogRecordFactory(logging.LogRecord)
        _reset_ts_loggers()
        assert type(logging.getLogger(NAME)) is logging.Logger, "another logger class was set"
        return capture, output

    yield install
    root.handlers[:], level, root.filters[:], factory = saved
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    _reset_ts_loggers()


def _reset_ts_loggers() -> None:
    """The ts loggers as a fresh worker has them (earlier tests in this process, and the
    libraries they import, may have configured logging)."""
    logging.disable(logging.NOTSET)
    for name in (NAME, "ts.metrics", "ts"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.filters.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        logger.disabled = False


def test_with_the_workers_set_up_the_line_is_kept_as_logging_would_keep_it(
    capture: Callable[[], tuple[MetricsCapture, io.StringIO]],
) -> None:
    keeper, output = capture()
    assert keeper.take(logging.getLogger(NAME), LINE)
    logging.getLogger(NAME).info(LINE)  # what it stands for: kept, not printed
    assert keeper.drain() == [LINE, LINE]
    assert output.getvalue() == ""
    assert not keeper.take(logging.getLogger(NAME), "not a metric line")


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _another_root_handler() -> None:
    logging.getLogger().addHandler(_Seen())


def _a_handler_on_the_ts_logger() -> None:
    logging.getLogger("ts").addHandler(_Seen())


def _a_filter_on_the_metric_logger() -> None:
    logging.getLogger(NAME).addFilter(lambda _record: True)


def _root_at_warning() -> None:
    logging.getLogger().setLevel(logging.WARNING)


def _handler_at_warning() -> None:
    logging.getLogger().handlers[0].setLevel(logging.WARNING)


def _not_propagating() -> None:
    logging.getLogger("ts.metrics").propagate = False


def _logging_disabled() -> None:
    logging.disable(logging.INFO)


def _a_record_factory() -> None:
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *args, **kwargs: factory(*args, **kwargs))


def _another_filter_on_the_handler() -> None:
    logging.getLogger().handlers[0].addFilter(lambda _record: True)


@pytest.mark.parametrize(
    "change",
    [
        _another_root_handler,
        _a_handler_on_the_ts_logger,
        _a_filter_on_the_metric_logger,
        _root_at_warning,
        _handler_at_warning,
        _not_propagating,
        _logging_disabled,
        _a_record_factory,
        _another_filter_on_the_handler,
    ],
)
def test_a_logging_set_up_of_the_handlers_own_gets_the_line_through_logging(
    capture: Callable[[], tuple[MetricsCapture, io.StringIO]], change: Callable[[], None]
) -> None:
    keeper, _ = capture()
    assert keeper.take(logging.getLogger(NAME), LINE)  # until the handler changes something
    change()
    assert not keeper.take(logging.getLogger(NAME), LINE)
    assert keeper.drain() == [LINE]
