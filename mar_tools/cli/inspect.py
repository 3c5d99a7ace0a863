"""``mar inspect ARCHIVE``: what a model archive holds, without extracting or running it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mar_tools.core.sizes import human_size
from mar_tools.terminal import console
from mar_tools.terminal.help import HelpCommand

if TYPE_CHECKING:
    from mar_tools.inspect.inspection import Inspection


@click.command(
    "inspect",
    cls=HelpCommand,
    short_help="Show what an archive holds, without extracting it.",
    examples=(
        ("mar inspect model.mar", "manifest, handler, weights and entries"),
        ("mar inspect model.mar --digest", "also the SHA-256 and the content digest"),
        ("mar inspect model.mar --format json | jq .manifest", "for scripts"),
    ),
)
@click.argument("archive", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: tables; json: schemas/inspect.schema.json.",
)
@click.option(
    "--digest",
    is_flag=True,
    help="Also read every byte: the archive's SHA-256 and the content digest.",
)
@click.option("--debug", "_debug", is_flag=True, hidden=True, help="Show Python tracebacks.")
def command(archive: Path, output_format: str, digest: bool, _debug: bool) -> None:
    """Show the manifest, handler entry point, model class, serialized file (kind, tensors,
    dtypes, parameters), requirements, config and every entry of ARCHIVE (a .mar, a
    .tar.gz or a model directory).

    Reads the index and the few files it needs, never the weights (a .tar.gz has no index
    and is read whole). Exit status: 0, or 3 when ARCHIVE cannot be read or used.
    """
    from mar_tools.inspect.inspection import inspect_archive

    inspection = inspect_archive(archive, digest=digest)
    if output_format == "json":
        from mar_tools.inspect.inspection_json import inspection_data

        click.echo(json.dumps(inspection_data(inspection), indent=2))
        return
    render_text(inspection)


def render_text(inspection: Inspection) -> None:
    """Print *inspection* as titled tables on standard output."""
    from mar_tools.terminal.tables import Column, fields, listing, print_section

    out = console.stdout()
    head = f"{inspection.path} ({inspection.format.value}, {human_size(inspection.size)})"
    out.print(head, markup=False)
    print_section(out, "Manifest", fields(_manifest_rows(inspection)))
    print_section(out, "Model", fields(_model_rows(inspection)))
    if inspection.config:
        print_section(out, "Config", fields(_config_rows(inspection)))
    columns = (
        Column("name"),
        Column("size", "right"),
        Column("compressed", "right"),
        Column("method"),
        Column("crc32"),
    )
    rows = [
        (row.name + ("/" if row.kind == "dir" else ""), human_size(row.size),
         human_size(row.compressed_size), row.method, row.crc or "-")
        for row in inspection.entries
    ]  # fmt: skip
    print_section(out, f"Entries ({len(rows)})", listing(columns, rows))
    if inspection.warnings:
        print_section(out, "Warnings", fields([("!", warning) for warning in inspection.warnings]))
    if inspection.digest is not None:
        digests = [("content digest", inspection.digest.value)]
        if inspection.sha256:
            digests.insert(0, ("sha256", inspection.sha256))
        print_section(out, "Digests", fields(digests))


def _manifest_rows(inspection: Inspection) -> list[tuple[str, str]]:
    manifest = inspection.manifest
    model = manifest.model
    rows = [
        ("model name", model.model_name),
        ("model version", model.model_version),
        ("runtime", manifest.runtime),
        ("handler", model.handler),
        ("serialized file", model.serialized_file),
        ("model file", model.model_file),
        ("requirements", model.requirements_file),
        ("config file", model.config_file),
        ("extensions", json.dumps(model.extensions) if model.extensions else None),
        ("created on", manifest.created_on),
        ("archiver version", manifest.archiver_version),
    ]
    return [(label, value) for label, value in rows if value]


def _model_rows(inspection: Inspection) -> list[tuple[str, str]]:
    rows = [("handler entry", inspection.handler.describe())]
    if inspection.model is not None:
        rows.append(("model class", inspection.model.describe()))
    serialized = inspection.serialized
    if serialized is not None:
        info = serialized.info
        what = f"{info.kind.replace('_', ' ')} ({info.container})"
        rows.append(("serialized", f"{serialized.file}, {human_size(serialized.size)}: {what}"))
        totals = serialized.totals
        if totals is not None:
            dtypes = ", ".join(f"{name} ×{count}" for name, count in totals.dtypes)
            rows.append(
                (
                    "tensors",
                    f"{totals.count} ({dtypes or 'none'}); {totals.parameters:,} parameters, "
                    f"{human_size(totals.bytes)}",
                )
            )
        if info.classes:
            rows.append(("classes", ", ".join(info.classes)))
        if info.note:
            rows.append(("note", info.note))
    if inspection.requirements is not None:
        rows.append(("requirements", ", ".join(inspection.requirements) or "(empty)"))
    return rows


def _config_rows(inspection: Inspection) -> list[tuple[str, str]]:
    rows = [(key, json.dumps(value)) for key, value in inspection.frontend_settings().items()]
    others = sorted(key for key in map(str, inspection.config) if key not in dict(rows))
    if others:
        rows.append(("handler keys", ", ".join(others)))
    return [("file", inspection.config_file or "-"), *rows]
