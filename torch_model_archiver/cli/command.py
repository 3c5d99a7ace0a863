"""The click command: upstream 0.12's flags (same names, meanings, defaults, required-ness),
then ours. The library is imported only when a build runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click

from mar_tools.core.manifest import RUNTIMES
from mar_tools.terminal.help import HelpCommand
from mar_tools.terminal.output_options import output_options
from torch_model_archiver.cli.abbreviation import AmbiguousOption, OptionNames, expand_abbreviations
from torch_model_archiver.cli.names import FORMATS as FORMATS
from torch_model_archiver.cli.names import LAYOUTS as LAYOUTS
from torch_model_archiver.cli.names import PROG as PROG

#: Upstream 0.12 parser's long options, in its order: their unique prefixes resolve as argparse
#: resolves them, before ours are considered (see ``abbreviation``; a test compares this list
#: with the real parser's).
UPSTREAM_LONG_OPTIONS = (
    "--help",
    "--model-name",
    "--serialized-file",
    "--model-file",
    "--handler",
    "--extra-files",
    "--runtime",
    "--export-path",
    "--archive-format",
    "--force",
    "--version",
    "--requirements-file",
    "--config-file",
)


#: ``--help``: upstream's options first, then ours, then the messages' (see :mod:`.help`).
OPTION_GROUPS = (
    ("Options (as upstream torch-model-archiver 0.12)", [*UPSTREAM_LONG_OPTIONS[1:]]),
    ("Options of mar-tools", ["--extra-files-layout", "--digest-file", "--jobs", "--tool-version"]),
    ("Messages", ["--quiet", "--verbose", "--color", "--debug", "--help"]),
)

EXAMPLES = (
    (
        "torch-model-archiver --model-name resnet --version 1.0 --serialized-file resnet.pt "
        "--handler image_classifier",
        "a TorchScript model with a built-in handler: resnet.mar",
    ),
    (
        "torch-model-archiver --model-name m --version 1.0 --model-file model.py "
        "--serialized-file weights.pt --handler handler.py --extra-files index.json -r "
        "requirements.txt",
        "an eager model with its own handler and requirements",
    ),
    (
        "SOURCE_DATE_EPOCH=0 torch-model-archiver --model-name m --version 1.0 --handler h.py "
        "--archive-format tgz --export-path out/ --force",
        "a reproducible .tar.gz in out/, replacing the last one",
    ),
)

#: ``-v/--version`` given without a value: the user most likely wanted the tool's version.
VERSION_HINT = (
    "-v/--version is the model's version (modelVersion), as with upstream's archiver; "
    "for the version of this tool: torch-model-archiver --tool-version"
)


class ArchiverCommand(HelpCommand):
    """Accepts unique prefixes of long options and reports every missing required option at
    once (as upstream's argparse did)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            args = expand_abbreviations(args, self.option_names(ctx))
        except AmbiguousOption as exc:
            raise click.UsageError(str(exc), ctx=ctx) from None
        try:
            return super().parse_args(ctx, list(args))
        except click.BadOptionUsage as exc:
            if exc.option_name in ("-v", "--version"):
                error = click.UsageError(f"{exc.option_name} needs a value.", ctx=ctx)
                error.hint = VERSION_HINT  # type: ignore[attr-defined]
                raise error from None
            raise
        except click.MissingParameter:
            missing = _missing_required(self, ctx, args)
            if len(missing) < 2:
                raise
            raise click.UsageError(f"Missing options: {', '.join(missing)}.", ctx=ctx) from None

    def option_names(self, ctx: click.Context) -> OptionNames:
        """Every option of the command, upstream's long ones first (for abbreviations)."""
        return OptionNames.from_options(
            UPSTREAM_LONG_OPTIONS,
            (
                ([*param.opts, *param.secondary_opts], not param.is_flag)
                for param in self.get_params(ctx)
                if isinstance(param, click.Option)
            ),
        )


def _missing_required(command: click.Command, ctx: click.Context, args: Sequence[str]) -> list[str]:
    parser = command.make_parser(ctx)
    values, _, _ = parser.parse_args(args=list(args))
    return [
        " / ".join(param.opts)
        for param in command.params
        if isinstance(param, click.Option) and param.required and values.get(param.name) is None
    ]


@click.command(
    PROG,
    cls=ArchiverCommand,
    examples=EXAMPLES,
    option_groups=OPTION_GROUPS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
    epilog="Exit codes: 0 ok, 1 bad input, 2 usage error, 3 output not writable, "
    "130 interrupted.\n\n\b\nDocs: https://github.com/mar-tools/mar-tools/blob/main/docs/archiver.md",
)
@click.option(
    "--model-name",
    required=True,
    metavar="NAME",
    help="Name of the model; the output is NAME.mar, NAME.tar.gz or the directory NAME.",
)
@click.option(
    "--serialized-file",
    metavar="PATH",
    help="Weights: a state dict (.pt/.pth) for eager models, a TorchScript or "
    "TensorRT module, an .onnx file...",
)
@click.option(
    "--model-file",
    metavar="PATH",
    help="Python file defining the model class (eager models; one class only).",
)
@click.option(
    "--handler",
    required=True,
    metavar="HANDLER",
    help="A built-in handler name, or a handler file (module.py, dir/module, "
    "module:function, module.py:function).",
)
@click.option(
    "--extra-files",
    metavar="LIST",
    help="Comma-separated files, directories and globs to include as well.",
)
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="python",
    show_default=True,
    help="Language the handler runs in.",
)
@click.option(
    "--export-path",
    metavar="DIR",
    help="Directory to write the output to (created if missing).  [default: current directory]",
)
@click.option(
    "--archive-format",
    type=click.Choice(FORMATS),
    default="default",
    show_default=True,
    help="default: .mar (zip, compressed where it pays); zip-store: .mar without "
    "compression; tgz: NAME.tar.gz; no-archive: a plain directory.",
)
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Replace an existing output (only once the new one is complete).",
)
@click.option(
    "-v",
    "--version",
    "version",
    required=True,
    metavar="VERSION",
    help="The MODEL's version (modelVersion). For the tool's version: --tool-version.",
)
@click.option(
    "-r",
    "--requirements-file",
    metavar="PATH",
    help="requirements.txt with the model's Python dependencies.",
)
@click.option(
    "-c",
    "--config-file",
    metavar="PATH",
    help="model-config.yaml (batch size, workers, handler settings...).",
)
@click.option(
    "--extra-files-layout",
    type=click.Choice(LAYOUTS),
    default="flat",
    show_default=True,
    help="flat: upstream's layout (files to the root, a directory's contents to the "
    "root); relative: keep each extra file's path relative to the current "
    "directory.",
)
@click.option(
    "--digest-file",
    metavar="PATH",
    help="Also write the archive's content digest (sha256:..., the same in every format; "
    "see mar inspect) to PATH.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Compression threads (output does not depend on it).  [default: CPUs]",
)
@output_options(quiet_help="No progress bar and no summary.", verbose_short=False)
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.option(
    "--tool-version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _print_tool_version(ctx) if value else None,
    help="Print the version of this tool and exit.",
)
def command(**options: Any) -> int:
    """Package a model's files into a TorchServe model archive.

    A drop-in replacement for upstream torch-model-archiver 0.12: same flags, same
    archives, written faster, reproducibly (set SOURCE_DATE_EPOCH) and atomically.
    """
    from torch_model_archiver.cli.build import run_build

    return run_build(options, os.environ, PROG)


def _print_tool_version(ctx: click.Context) -> None:
    from mar_tools import __version__ as tool_version
    from torch_model_archiver.compression import select_backend
    from torch_model_archiver.version import __version__ as upstream

    click.echo(
        f"{PROG} {tool_version} (mar-tools); writes torch-model-archiver {upstream} "
        f"archives; deflate: {select_backend().name}"
    )
    ctx.exit(0)
