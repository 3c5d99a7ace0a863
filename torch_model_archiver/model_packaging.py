"""Upstream's entry points, under upstream's module name: ``generate_model_archive`` and
``ModelArchiver.generate_model_archive``.

Code written for ``model_archiver`` works by importing from ``torch_model_archiver``
instead. Warnings go to the ``torch_model_archiver`` logger (upstream logged them too);
errors are raised as :class:`ModelArchiverError` subclasses (a missing input is also a
``FileNotFoundError``, as upstream raised). ``SOURCE_DATE_EPOCH`` is honoured.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional

from mar_tools.core.reporter import SilentReporter
from torch_model_archiver.builder import build_archive
from torch_model_archiver.model_archiver_config import ModelArchiverConfig
from torch_model_archiver.spec import source_date_epoch_from

logger = logging.getLogger("torch_model_archiver")


class _LoggingReporter(SilentReporter):
    """Also sends warnings to the logger; progress is not reported through the Python API."""

    def warning(self, message: str) -> None:
        super().warning(message)
        logger.warning("%s", message)


def generate_model_archive(config: Optional[ModelArchiverConfig] = None) -> None:
    """Build the archive *config* describes (upstream's signature and behaviour).

    With no config, behave as the ``torch-model-archiver`` command on ``sys.argv``: print
    errors and raise ``SystemExit`` with the exit code when the build fails.
    """
    if config is None:
        # The command line owns argument parsing and error printing; imported only here so
        # that the library itself never loads click.
        from torch_model_archiver.cli import run

        code = run(sys.argv[1:])
        if code:
            raise SystemExit(code)
        return
    epoch = source_date_epoch_from(os.environ)
    build_archive(config.to_spec(source_date_epoch=epoch), reporter=_LoggingReporter())


class ModelArchiver:
    """Upstream's class-style entry point."""

    @staticmethod
    def generate_model_archive(config: ModelArchiverConfig) -> None:
        """Build the archive *config* describes."""
        generate_model_archive(config)
