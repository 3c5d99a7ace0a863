"""The rich tables of ``mar``'s text reports: titled sections of fields, and listings.

Tables have no borders, so that they read the same with and without colour (``NO_COLOR``)
and in a log; long values wrap within the console's width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Column:
    """A listing's column: its header and how its cells are justified."""

    header: str
    justify: Literal["left", "right"] = "left"


def title(text: str) -> Text:
    """A section title (bold)."""
    return Text(text, style="bold")


def fields(rows: Sequence[tuple[str, str]]) -> Table:
    """Label / value pairs, labels dimmed, indented under a section title."""
    table = Table.grid(padding=(0, 2), pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(Text(f"  {label}"), Text(value))
    return table


def rows(lines: Sequence[Sequence[str]]) -> Table:
    """Rows of cells without a header, indented under a section title."""
    table = Table.grid(padding=(0, 2), pad_edge=False)
    for index in range(max((len(line) for line in lines), default=1)):
        table.add_column(overflow="fold", no_wrap=index == 0)
    for line in lines:
        table.add_row(*(f"  {cell}" if i == 0 else cell for i, cell in enumerate(line)))
    return table


def listing(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    """Rows under a header line, indented under a section title."""
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), show_header=True)
    for index, column in enumerate(columns):
        header = f"  {column.header}" if index == 0 else column.header
        table.add_column(header, justify=column.justify, overflow="fold", header_style="dim")
    for row in rows:
        table.add_row(*(f"  {cell}" if i == 0 else cell for i, cell in enumerate(row)))
    return table


def print_section(console: Console, heading: str, body: Table | None = None) -> None:
    """Print a blank line, *heading*, and *body* when given."""
    console.print()
    console.print(title(heading))
    if body is not None:
        print_table(console, body)


def print_table(console: Console, table: Table) -> None:
    """Print *table* without the spaces rich pads the last column with (so that lines end
    where their text does, in a terminal, a file or a test)."""
    for line in console.render_lines(table, console.options, pad=False):
        text = Text.assemble(*((segment.text, segment.style or "") for segment in line))
        text.rstrip()
        console.print(text)
