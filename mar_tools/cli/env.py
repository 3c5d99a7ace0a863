"""``mar env``: list, locate, create and prune the per-model environments."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from mar_tools.cli.env_options import cache_dir_option, env_options_from, environment_options
from mar_tools.cli.limit_options import limit_options, limits_from
from mar_tools.cli.listing import ago, aligned
from mar_tools.cli.removal_options import confirm, dry_run_option, older_than_option, yes_option
from mar_tools.core.cache import cache_subdir
from mar_tools.core.errors import ExitCode
from mar_tools.core.extraction import sweep_cache
from mar_tools.core.sizes import human_size
from mar_tools.env import archive_env
from mar_tools.env.options import EnvOptions
from mar_tools.env.pruning import DEFAULT_OLDER_THAN_DAYS, prune
from mar_tools.env.store import EnvStore, StoredEnv
from mar_tools.terminal import console
from mar_tools.terminal.help import HelpCommand, HelpGroup
from mar_tools.terminal.reporter import TerminalReporter

_archive = click.argument("archive", type=click.Path(path_type=Path))


@click.group(
    "env",
    cls=HelpGroup,
    short_help="List, locate, create and prune per-model environments.",
    examples=(
        ("mar env list", "the cached environments"),
        ("mar env create model.mar", "build a model's environment now (CI cache)"),
        ("mar env prune --older-than 7", "remove those unused for a week"),
    ),
)
def command() -> None:
    """Per-model virtualenvs: the cached environments that mar run builds from an archive's
    requirements file.

    \b
    Docs: https://github.com/mar-tools/mar-tools/blob/main/docs/environments.md
    """


@command.command("list", cls=HelpCommand, examples=(("mar env list --json", "as JSON"),))
@cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def list_command(cache_dir: Path | None, as_json: bool) -> None:
    """List cached environments: key, model, size, last use."""
    store = EnvStore(cache_subdir("envs", cache_dir))
    envs = store.environments()
    now = time.time()
    if as_json:
        click.echo(json.dumps([_as_dict(env) for env in envs], indent=2))
        return
    if not envs:
        click.echo(f"No environments in {store.root}.")
        return
    rows = [("KEY", "MODEL", "SIZE", "LAST USED", "INSTALLER")]
    rows += [
        (
            env.short,
            env.record.model,
            human_size(env.size()),
            ago(env.last_used(), now),
            env.record.installer,
        )
        for env in envs
    ]
    for line in aligned(rows):
        click.echo(line)


@command.command(
    "path", cls=HelpCommand, examples=(("mar env path model.mar", "its environment's directory"),)
)
@_archive
@click.option(
    "--env",
    "env_mode",
    type=click.Choice(["auto", "venv"]),
    default="auto",
    show_default=True,
    help="As for mar run: venv = the environment even without requirements.",
)
@cache_dir_option
@limit_options
@click.pass_context
def path_command(
    ctx: click.Context, /, archive: Path, env_mode: str, cache_dir: Path | None, **limits: Any
) -> None:
    """Print the directory of ARCHIVE's environment.

    Exits 1 when the environment is not built yet (the path is still printed) or when the
    archive needs none.
    """
    options = EnvOptions(
        mode="venv" if env_mode == "venv" else "auto",
        cache_dir=cache_dir,
        limits=limits_from(limits),
    )
    target = archive_env.locate(archive, options)
    if target.path is None:
        console.warning(
            f"model {target.model} needs no environment ({target.plan.reason}): it runs in "
            "the current interpreter."
        )
        ctx.exit(int(ExitCode.FAILURE))
    click.echo(str(target.path))
    if target.existing() is None:
        console.warning(f"not created yet; run: mar env create {archive}")
        ctx.exit(int(ExitCode.FAILURE))


@command.command(
    "create",
    cls=HelpCommand,
    short_help="Build ARCHIVE's environment now; print its path.",
    examples=(("mar env create model.mar --installer uv", "build it with uv"),),
)
@_archive
@environment_options
@limit_options
def create_command(archive: Path, **params: Any) -> None:
    """Create ARCHIVE's environment now (for example to warm a CI cache) and print its path."""
    options = env_options_from(params)
    reporter = TerminalReporter(prog="mar", show_progress=console.is_interactive())
    target, env = archive_env.create(archive, options, reporter)
    if env is None:
        console.warning(
            f"model {target.model} needs no environment ({target.plan.reason}); "
            "use --env venv to create one anyway."
        )
        return
    click.echo(str(env.path))


@command.command(
    "prune",
    cls=HelpCommand,
    short_help="Remove unused environments and leftovers.",
    examples=(
        ("mar env prune --older-than 7", "unused for more than 7 days"),
        ("mar env prune --all --dry-run", "what removing every environment would free"),
    ),
)
@older_than_option("environments", f"default {DEFAULT_OLDER_THAN_DAYS:g}")
@click.option(
    "--all", "everything", is_flag=True, help="Remove every environment (asks first, see --yes)."
)
@dry_run_option
@yes_option
@cache_dir_option
def prune_command(
    older_than: float | None, everything: bool, dry_run: bool, yes: bool, cache_dir: Path | None
) -> None:
    """Remove unused environments, and what interrupted builds and extractions left behind.

    Environments a running mar command uses are never removed. See also mar cache prune,
    which covers the extracted archives too.
    """
    store = EnvStore(cache_subdir("envs", cache_dir))
    if everything and not dry_run:
        confirm(
            f"Remove every environment in {store.root}?", yes=yes, what="remove every environment"
        )
    report = prune(store, older_than_days=older_than, everything=everything, dry_run=dry_run)
    swept = [] if dry_run else sweep_cache(cache_subdir("extracted", cache_dir))
    verb = "would remove" if dry_run else "removed"
    for item in report.removed:
        what = f"environment {item.name} (model {item.model})" if item.model else item.name
        click.echo(f"{verb} {what}, {human_size(item.size)}")
    for leftover in swept:
        click.echo(f"removed {leftover}, left by a killed extraction")
    for name in report.busy:
        click.echo(f"skipped environment {name}: another process is using it")
    count = len(report.removed) + len(swept)
    entries = "entry" if count == 1 else "entries"
    if dry_run:
        click.echo(f"Would remove {count} {entries}, {human_size(report.freed)} (dry run).")
    else:
        click.echo(f"Removed {count} {entries}, freed {human_size(report.freed)}.")


def _as_dict(env: StoredEnv) -> dict[str, Any]:
    record = env.record
    return {
        "key": record.key,
        "path": str(env.path),
        "model": record.model,
        "size": env.size(),
        "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(env.last_used())),
        "created": record.created,
        "installer": record.installer,
        "python": record.python,
        "torch": record.torch,
        "requirements": record.requirements,
    }
