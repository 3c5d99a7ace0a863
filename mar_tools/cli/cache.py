"""``mar cache``: where the cache is, what it holds, and removing what is not needed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mar_tools.cli.cache_dir import cache_dir_option
from mar_tools.cli.limit_options import ByteSize
from mar_tools.cli.listing import ago, aligned
from mar_tools.cli.removal_options import confirm, dry_run_option, older_than_option, yes_option
from mar_tools.core.cache import cache_root
from mar_tools.core.sizes import human_size
from mar_tools.terminal.help import HelpCommand, HelpGroup

if TYPE_CHECKING:
    # The cache package (and the env store under it) is imported by the commands that
    # need it only: `mar cache dir` stays as fast as `mar --help`.
    from mar_tools.cache import PruneResult

#: What ``prune`` removes when given neither ``--older-than`` nor ``--max-size`` (days).
DEFAULT_OLDER_THAN_DAYS = 30.0
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(
    "cache",
    cls=HelpGroup,
    short_help="Show and prune the cache of archives and environments.",
    examples=(
        ("mar cache list", "what the cache holds, least recently used first"),
        ("mar cache prune --max-size 10G --dry-run", "what pruning to 10 GiB would remove"),
        ("mar cache prune --older-than 7", "remove entries unused for a week"),
        ("mar cache clean --yes", "remove every entry not in use"),
    ),
)
def command() -> None:
    """The cache of extracted archives and per-model environments: where it is, what it
    holds, and pruning it least recently used first.

    Entries a running mar command uses (mar run, mar serve, mar env create) are never
    removed. The cache is $MAR_CACHE_DIR, or the user cache directory; --cache-dir chooses
    another.
    """


@command.command(
    "dir",
    cls=HelpCommand,
    examples=(
        ("mar cache dir", "where the cache is"),
        ('du -sh "$(mar cache dir)"', "its size on disk"),
    ),
)
@cache_dir_option
def dir_command(cache_dir: Path | None) -> None:
    """Print the cache directory."""
    click.echo(str(cache_root(cache_dir)))


@command.command(
    "size",
    cls=HelpCommand,
    short_help="Print the size of the cache.",
    examples=(("mar cache size --json", "as JSON"),),
)
@_json_option
@cache_dir_option
def size_command(as_json: bool, cache_dir: Path | None) -> None:
    """Print the size of the cache: extracted archives, environments, total."""
    from mar_tools.cache import cache_entries

    entries = cache_entries(cache_dir)
    groups = {
        "archives": [entry for entry in entries if entry.kind == "archive"],
        "environments": [entry for entry in entries if entry.kind == "environment"],
        "total": entries,
    }
    if as_json:
        document: dict[str, object] = {"path": str(cache_root(cache_dir))}
        for name, group in groups.items():
            document[name] = {"entries": len(group), "size": sum(e.size for e in group)}
        click.echo(json.dumps(document, indent=2))
        return
    rows = [
        (name, _count(len(group)), human_size(sum(e.size for e in group)))
        for name, group in groups.items()
    ]
    for line in aligned(rows):
        click.echo(line)


@command.command("list", cls=HelpCommand, examples=(("mar cache list --json", "as JSON"),))
@_json_option
@cache_dir_option
def list_command(as_json: bool, cache_dir: Path | None) -> None:
    """List the cache's entries, most recently used first."""
    from mar_tools.cache import cache_entries

    entries = cache_entries(cache_dir)
    if as_json:
        click.echo(json.dumps([entry.to_dict() for entry in entries], indent=2))
        return
    if not entries:
        click.echo(f"The cache {cache_root(cache_dir)} is empty.")
        return
    now = time.time()
    rows = [("KIND", "NAME", "MODEL", "SIZE", "LAST USED", "IN USE")]
    rows += [
        (
            entry.kind,
            _short(entry.name),
            entry.model or "-",
            human_size(entry.size),
            ago(entry.last_used, now),
            "yes" if entry.in_use else "",
        )
        for entry in entries
    ]
    for line in aligned(rows):
        click.echo(line)


@command.command(
    "prune",
    cls=HelpCommand,
    short_help="Remove entries unused for a while, or beyond a size.",
    examples=(
        ("mar cache prune --max-size 10G --dry-run", "what pruning to 10 GiB would remove"),
        ("mar cache prune --older-than 7", "entries unused for a week"),
    ),
)
@older_than_option(
    "entries", f"the default, {DEFAULT_OLDER_THAN_DAYS:g}, applies when --max-size is not given"
)
@click.option(
    "--max-size",
    type=ByteSize(),
    default=None,
    metavar="SIZE",
    help="Remove the least recently used entries until the rest fit in SIZE (512M, 10GiB).",
)
@dry_run_option
@cache_dir_option
def prune_command(
    older_than: float | None, max_size: int | None, dry_run: bool, cache_dir: Path | None
) -> None:
    """Remove cache entries least recently used first: those unused for more than
    --older-than days, then as many as it takes to fit in --max-size. Leftovers of killed
    commands go too."""
    from mar_tools.cache import prune_cache

    if older_than is None and max_size is None:
        older_than = DEFAULT_OLDER_THAN_DAYS
    result = prune_cache(cache_dir, older_than_days=older_than, max_size=max_size, dry_run=dry_run)
    _print_result(result)


@command.command(
    "clean",
    cls=HelpCommand,
    short_help="Remove every entry not in use (asks first).",
    examples=(("mar cache clean --dry-run", "what it would remove"),),
)
@yes_option
@dry_run_option
@cache_dir_option
def clean_command(yes: bool, dry_run: bool, cache_dir: Path | None) -> None:
    """Remove every entry of the cache that no running command uses. Asks first, unless
    --yes; refuses to go on without --yes when standard input is not a terminal."""
    from mar_tools.cache import prune_cache

    if not dry_run:
        root = cache_root(cache_dir)
        confirm(f"Remove everything in the cache {root}?", yes=yes, what="clean the cache")
    _print_result(prune_cache(cache_dir, everything=True, dry_run=dry_run))


def _print_result(result: PruneResult) -> None:
    verb = "would remove" if result.dry_run else "removed"
    for entry in result.removed:
        model = f" (model {entry.model})" if entry.model else ""
        click.echo(f"{verb} {entry.kind} {_short(entry.name)}{model}, {human_size(entry.size)}")
    for entry in result.busy:
        click.echo(f"skipped {entry.kind} {_short(entry.name)}: a running command uses it")
    if result.leftovers:
        click.echo(f"{verb} {_count(len(result.leftovers), 'leftover')} of killed commands")
    count = _count(len(result.removed))
    kept = human_size(result.remaining)
    if result.dry_run:
        freed = human_size(result.freed)
        click.echo(f"Would remove {count}, {freed}; {kept} would stay (dry run).")
    else:
        click.echo(f"Removed {count}, freed {human_size(result.freed)}; {kept} left.")


def _short(name: str) -> str:
    """An archive's ``<algorithm>-<digest>`` cut to 12 hex digits (``--json`` has it whole)."""
    algorithm, dash, digest = name.partition("-")
    return f"{algorithm}-{digest[:12]}" if dash and len(digest) == 64 else name


def _count(count: int, noun: str = "entry") -> str:
    plural = "entries" if noun == "entry" else f"{noun}s"
    return f"{count} {noun if count == 1 else plural}"
