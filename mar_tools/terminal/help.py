"""Help that teaches, drawn by plain click (no rich: ``--help`` stays fast).

Every command of both console scripts is a :class:`HelpCommand` (or :class:`HelpGroup`):

* an **Examples** section (``examples=[(command line, what it does), ...]``), printed after the
  options, before the epilog;
* **option groups** (``option_groups=[(title, [option names])]``): each group is a titled
  section; options no group names go to a last ``Options`` section;
* text wrapped at spaces only, never inside a hyphenated word (``--extra-index-url`` stays
  whole), by :class:`HelpFormatter`;
* a fresh :mod:`.settings` for each top-level command (``-q``/``-v``/``--color`` never leak
  from one invocation to the next in one process, as under ``CliRunner``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from mar_tools.terminal import settings

#: ``(command line, what it does)``.
Example = tuple[str, str]
#: ``(section title, option names as declared, e.g. "--input")``.
OptionGroup = tuple[str, Sequence[str]]


def wrap(text: str, width: int, indent: str = "") -> str:
    """*text* filled to *width* by paragraph (blank-line separated); a paragraph whose first
    line is ``\\b`` is kept as written. Lines break at spaces only."""
    paragraphs = []
    for paragraph in text.expandtabs().split("\n\n"):
        lines = paragraph.strip("\n").splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            paragraphs.append("\n".join(indent + line for line in lines[1:]))
            continue
        paragraphs.append(
            textwrap.fill(
                " ".join(line.strip() for line in lines),
                max(width, 20),
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
                break_long_words=False,
            )
        )
    return "\n\n".join(paragraphs)


def command_lines(line: str, width: int) -> list[str]:
    """*line* (a shell command) cut before options (`` -x``/`` --xyz``) into lines that fit
    *width* with a continuation (`` \\``) and an indent of four; an option and its value
    stay together."""
    chunks: list[str] = []
    for word in line.split(" "):
        if chunks and not word.startswith("-"):
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    lines = [chunks[0]]
    for chunk in chunks[1:]:
        limit = width - 2 - (4 if len(lines) > 1 else 0)
        if len(lines[-1]) + 1 + len(chunk) <= limit:
            lines[-1] += " " + chunk
        else:
            lines.append(chunk)
    return lines


class HelpFormatter(click.HelpFormatter):
    """click's formatter, wrapping with :func:`wrap` (no breaks inside ``--long-option``)."""

    def write_text(self, text: str) -> None:
        self.write(wrap(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_width = min(max((len(first) for first, _ in rows), default=0), col_max)
        column = first_width + col_spacing
        indent = " " * self.current_indent
        text_width = max(self.width - column - self.current_indent, 20)
        for first, second in rows:
            lines = wrap(second, text_width).splitlines() if second else []
            if not lines:
                self.write(f"{indent}{first}\n")
                continue
            if len(first) <= first_width:
                self.write(f"{indent}{first:<{column}}{lines[0]}\n")
            else:
                self.write(f"{indent}{first}\n{indent}{'':<{column}}{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{indent}{'':<{column}}{line}\n" if line else "\n")


class HelpContext(click.Context):
    """A context drawing help with :class:`HelpFormatter`; a top-level one resets the
    output settings."""

    formatter_class = HelpFormatter

    def __init__(self, command: click.Command, parent: click.Context | None = None, **kw: Any):
        if parent is None:
            settings.reset()
        super().__init__(command, parent, **kw)


if TYPE_CHECKING:
    _Base = click.Command
else:
    _Base = object


class _Sections(_Base):
    """What :class:`HelpCommand` and :class:`HelpGroup` add to click's help: the ``examples``
    and ``option_groups`` keyword arguments, the option sections and the Examples section."""

    def __init__(
        self,
        *args: Any,
        examples: Sequence[Example] = (),
        option_groups: Sequence[OptionGroup] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)
        self.option_groups = tuple(option_groups)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._format_examples(formatter)
        super().format_epilog(ctx, formatter)

    def _format_option_sections(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records: dict[str, tuple[str, str]] = {}
        order: list[tuple[tuple[str, ...], tuple[str, str]]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            for name in param.opts:
                records[name] = record
            order.append((tuple(param.opts), record))
        grouped: set[str] = set()
        for title, names in self.option_groups:
            rows = [records[name] for name in names if name in records]
            grouped.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [record for opts, record in order if grouped.isdisjoint(opts)]
        if rest:
            with formatter.section("Options" if not self.option_groups else "Other options"):
                formatter.write_dl(rest)

    def _format_examples(self, formatter: click.HelpFormatter) -> None:
        if not self.examples:
            return
        with formatter.section("Examples"):
            width = formatter.width - formatter.current_indent
            for index, (line, what) in enumerate(self.examples):
                if index:
                    formatter.write("\n")
                shown = " \\\n    ".join(command_lines(f"$ {line}", width))
                formatter.write_text(f"\b\n# {what}\n{shown}")


class HelpCommand(_Sections, click.Command):
    """A click command with examples and option groups (see the module docstring)."""

    context_class = HelpContext

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._format_option_sections(ctx, formatter)


class HelpGroup(_Sections, click.Group):
    """A click group with examples (see the module docstring); an unknown subcommand is a
    usage error whose hint is the closest subcommand, or the list of them."""

    context_class = HelpContext

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if self.get_command(ctx, name) is None and not name.startswith("-"):
            from mar_tools.core.spelling import did_you_mean

            names = self.list_commands(ctx)
            error = click.UsageError(f"no such command '{name}'.", ctx)
            error.hint = did_you_mean(name, names) or (  # type: ignore[attr-defined]
                f"the commands are {', '.join(names)} (see '{ctx.command_path} --help')."
            )
            raise error
        return super().resolve_command(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._format_option_sections(ctx, formatter)
        self.format_commands(ctx, formatter)
