"""``torch-model-archiver``'s common command lines, parsed without click (issue 15: start-up).

Importing click costs several times a bare interpreter's start-up, more than building a small
archive. :func:`parse` reads the command lines that need none of click's work: every option
of the command spelled in full (``--model-name m`` or ``--model-name=m``), upstream's short
aliases (``-v``, ``-f``, ``-r``, ``-c``), ours (``-j``, ``-q``) and the output options. For
anything else it answers None and the click command runs as before, with its own messages:
help, ``--tool-version``, an abbreviated, unknown or combined option (``-fq``, ``-v1.0``), a
missing or empty value, a value that looks like an option, a value that click would refuse
(a choice, ``--jobs``), a positional argument, ``--``, a required option left out, or shell
completion's environment variable. Both ways end in
:func:`~torch_model_archiver.cli.build.run_build` with the same options; a test runs each
command line both ways and compares the bytes, the exit codes and the archives.
``MAR_CLICK_ONLY=1`` turns this path off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

from mar_tools.core.manifest import RUNTIMES
from mar_tools.terminal import settings
from mar_tools.terminal.click_free import allowed, apply_output_options
from torch_model_archiver.cli.names import FORMATS, LAYOUTS, PROG

#: What click's shell completion reads (``_{PROG}_COMPLETE``, as click spells it).
COMPLETE_VAR: Final = f"_{PROG}_COMPLETE".replace("-", "_").upper()
#: The options the command passes to ``run_build``, with click's defaults.
DEFAULTS: Final[Mapping[str, Any]] = {
    "model_name": None,
    "serialized_file": None,
    "model_file": None,
    "handler": None,
    "extra_files": None,
    "runtime": "python",
    "export_path": None,
    "archive_format": "default",
    "force": False,
    "version": None,
    "requirements_file": None,
    "config_file": None,
    "extra_files_layout": "flat",
    "digest_file": None,
    "jobs": None,
    "debug": False,
}
REQUIRED: Final = ("model_name", "handler", "version")
_FLAGS: Final = {"-f": "force", "--force": "force", "--debug": "debug"}
#: Options that take a value, by every spelling, and the option each sets (``color`` goes to
#: :mod:`settings`, not to ``run_build``).
_VALUED: Final = {
    "--model-name": "model_name",
    "--serialized-file": "serialized_file",
    "--model-file": "model_file",
    "--handler": "handler",
    "--extra-files": "extra_files",
    "--runtime": "runtime",
    "--export-path": "export_path",
    "--archive-format": "archive_format",
    "-v": "version",
    "--version": "version",
    "-r": "requirements_file",
    "--requirements-file": "requirements_file",
    "-c": "config_file",
    "--config-file": "config_file",
    "--extra-files-layout": "extra_files_layout",
    "--digest-file": "digest_file",
    "-j": "jobs",
    "--jobs": "jobs",
    "--color": "color",
}
#: Options whose value may follow an ``=`` (click reads ``-v=1`` as the version ``=1``).
_LONG_VALUED: Final = frozenset(name for name in _VALUED if name.startswith("--"))
#: The choices click checks; a value outside them is click's to report.
_CHOICES: Final[Mapping[str, Sequence[str]]] = {
    "runtime": RUNTIMES,
    "archive_format": FORMATS,
    "extra_files_layout": LAYOUTS,
    "color": settings.COLOR_CHOICES,
}
_OUTPUT: Final = {"-q": "quiet", "--quiet": "quiet", "--verbose": "verbose"}


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the click-free path may be tried at all: not when ``MAR_CLICK_ONLY`` is set (see
    :mod:`mar_tools.terminal.click_free`) nor under shell completion."""
    return allowed(environ, (COMPLETE_VAR,))


def parse(args: Sequence[str]) -> dict[str, Any] | None:
    """The options that *args* give ``run_build`` (as the click command would pass them), with
    the output options put in :mod:`settings`; None, and no setting changed, when click must
    parse them."""
    options = dict(DEFAULTS)
    colors: list[str] = []
    output_order: list[str] = []
    tokens = iter(args)
    for token in tokens:
        name, equals, attached = token.partition("=")
        if token in _FLAGS:
            options[_FLAGS[token]] = True
        elif token in _OUTPUT:
            output_order.append(_OUTPUT[token])
        elif token in _VALUED or (equals and name in _LONG_VALUED):
            key = _VALUED[name if equals else token]
            value = attached if equals else next(tokens, None)
            if not value or (not equals and value.startswith("-")):
                return None
            if value not in _CHOICES.get(key, (value,)):
                return None
            if key == "color":
                colors.append(value)
                output_order.append("color")
            elif key == "jobs":
                if not (value.isascii() and value.isdigit()) or int(value) < 1:
                    return None
                options[key] = int(value)
            else:
                options[key] = value
        else:
            return None
    if any(options[name] is None for name in REQUIRED):
        return None
    apply_output_options(output_order, colors)
    return options
