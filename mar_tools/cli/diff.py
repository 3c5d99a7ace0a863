"""``mar diff A B``: what differs between two model archives (any two formats)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mar_tools.core.errors import ExitCode
from mar_tools.core.sizes import human_size
from mar_tools.terminal import console
from mar_tools.terminal.help import HelpCommand

if TYPE_CHECKING:
    from mar_tools.inspect.comparison import Difference
    from mar_tools.inspect.field_diff import FieldChange
    from mar_tools.inspect.tensor_diff import TensorChange

SYMBOLS = {"added": "+", "removed": "-", "changed": "~", "unknown": "?"}


@click.command(
    "diff",
    cls=HelpCommand,
    short_help="Compare two archives, in any two formats.",
    examples=(
        ("mar diff old.mar new.mar", "what changed between two builds"),
        ("mar diff model.mar model.tar.gz --digest", "same content in two formats?"),
        ("mar diff a.mar b.mar --exit-code", "exit 1 when they differ (for CI)"),
    ),
)
@click.argument("first", type=click.Path(exists=True, path_type=Path))
@click.argument("second", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: tables; json: schemas/diff.schema.json.",
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when the archives differ (as git diff --exit-code).",
)
@click.option(
    "--digest",
    is_flag=True,
    help="Compare entries by SHA-256 of their bytes (not CRC-32) and show both content "
    "digests; reads every byte.",
)
@click.option("--debug", "_debug", is_flag=True, hidden=True, help="Show Python tracebacks.")
def command(
    first: Path, second: Path, output_format: str, exit_code: bool, digest: bool, _debug: bool
) -> None:
    """Compare two model archives (.mar, .tar.gz or directories, in any mix): manifest,
    config and requirements, entries by content, and the tensors of the serialized files.

    Exit status: 0 (with --exit-code: 0 when the same model, 1 when different), 2 on a
    usage error, 3 when an archive cannot be read or used.
    """
    from mar_tools.inspect.comparison import diff_archives

    difference = diff_archives(first, second, digest=digest)
    if output_format == "json":
        from mar_tools.inspect.difference_json import difference_data

        click.echo(json.dumps(difference_data(difference), indent=2))
    else:
        render_text(difference)
    different = exit_code and not difference.same
    click.get_current_context().exit(int(ExitCode.FAILURE if different else ExitCode.OK))


def render_text(difference: Difference) -> None:
    """Print *difference* as titled tables on standard output."""
    from mar_tools.terminal.tables import Column, listing, print_section, rows

    out = console.stdout()
    for mark, side in (("---", difference.first), ("+++", difference.second)):
        out.print(f"{mark} {side.path} ({side.format.value})", markup=False)
    if difference.manifest:
        print_section(out, "Manifest", rows([_field(c) for c in difference.manifest]))
    if difference.config:
        print_section(out, "Config", rows([_field(c) for c in difference.config]))
    requirements = difference.requirements
    if requirements:
        lines = [("+", line) for line in requirements.added]
        lines += [("-", line) for line in requirements.removed]
        print_section(out, "Requirements", rows(lines))
    if difference.entries:
        print_section(out, "Entries", rows([_entry(change) for change in difference.entries]))
    tensors = difference.tensors
    if tensors is not None:
        same_file = tensors.first == tensors.second
        names = tensors.first if same_file else f"{tensors.first} → {tensors.second}"
        heading = f"Tensors ({names}; {tensors.unchanged} unchanged)"
        columns = [Column("  name"), Column("dtype"), Column("shape"), Column("changed", "right"),
                   Column("max |Δ|", "right"), Column("note")]  # fmt: skip
        body = listing(columns, [_tensor(change) for change in tensors.changes])
        print_section(out, heading, body if tensors.changes else None)
        if tensors.note:
            out.print(f"  {tensors.note}", markup=False)
    if difference.ignored:
        print_section(out, "Ignored", rows([_field(c)[1:] for c in difference.ignored]))
    if difference.first.digest and difference.second.digest:
        digests = [("---", difference.first.digest.value), ("+++", difference.second.digest.value)]
        print_section(out, "Content digests", rows(digests))
    out.print()
    out.print(summary(difference), markup=False)


def summary(difference: Difference) -> str:
    """The last line: same or different, and how entries were compared."""
    how = "SHA-256" if difference.compared_by == "sha256" else "CRC-32 and size"
    if difference.same:
        return f"Same model: no differences (entries compared by {how})."
    tensors = difference.tensors.changes if difference.tensors else ()
    counts = [
        (len(difference.manifest), "manifest field"),
        (len(difference.config), "config key"),
        (len(difference.requirements.added) + len(difference.requirements.removed),
         "requirement line"),
        (len(difference.entries), "entry"),
        (sum(1 for change in tensors if change.status != "unknown"), "tensor"),
    ]  # fmt: skip
    parts = [f"{count} {_plural(noun, count)}" for count, noun in counts if count]
    return f"Different: {', '.join(parts)} (entries compared by {how})."


def _plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") and noun[-2] not in "aeiou" else noun + "s"


def _value(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _field(change: FieldChange) -> tuple[str, str, str]:
    if change.status == "added":
        return "+", change.path, _value(change.after)
    if change.status == "removed":
        return "-", change.path, _value(change.before)
    return "~", change.path, f"{_value(change.before)} → {_value(change.after)}"


def _entry(change: Any) -> tuple[str, str, str]:
    sizes = [
        human_size(size) for size in (change.before_size, change.after_size) if size is not None
    ]
    return SYMBOLS[change.status], change.name, " → ".join(sizes)


def _tensor(change: TensorChange) -> tuple[str, ...]:
    info = change.after or change.before
    assert info is not None
    dtype, shape = info.dtype, info.shape_text()
    if change.before is not None and change.after is not None:
        if change.before.dtype != change.after.dtype:
            dtype = f"{change.before.dtype} → {change.after.dtype}"
        if change.before.shape != change.after.shape:
            shape = f"{change.before.shape_text()} → {change.after.shape_text()}"
    changed = "" if change.changed is None else f"{change.changed:,} of {info.numel:,}"
    largest = change.max_abs_diff
    magnitude = "" if largest is None else ("inf" if math.isinf(largest) else f"{largest:.6g}")
    name = f"{SYMBOLS[change.status]} {change.name}"
    return name, dtype, shape, changed, magnitude, change.note or ""
