"""``mar cache``: real caches, real ``mar`` processes, whole outputs compared."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mar_tools.core.sizes import human_size, tree_size
from tests.cache.support import archive, environment, extract, last_used, mar, size_of
from tests.run.support import mar_env
from tests.support.terminal import run_in_terminal

KIB = 1024


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def filled(tmp_path: Path, cache: Path) -> dict[str, Path]:
    """Two archives and an environment, last used 10 days, just now and 3 days ago."""
    old, new = extract(
        cache, archive(tmp_path, "old", 300 * KIB), archive(tmp_path, "new", 100 * KIB)
    )
    last_used(cache, old, 10)
    env = environment(cache, "0123456789abcdef", "greeter", 200 * KIB, 3)
    return {"old": old, "new": new, "env": env}


def short(extraction: Path) -> str:
    algorithm, _, digest = extraction.name.partition("-")
    return f"{algorithm}-{digest[:12]}"


def test_dir_prints_the_cache_directory(tmp_path: Path, cache: Path) -> None:
    assert mar("cache", "dir", cache=cache).stdout == f"{cache}\n"
    other = tmp_path / "other"
    assert mar("cache", "dir", "--cache-dir", str(other), cache=cache).stdout == f"{other}\n"


def test_an_empty_cache(cache: Path) -> None:
    listed = mar("cache", "list", cache=cache)
    assert (listed.returncode, listed.stdout, listed.stderr) == (
        0,
        f"The cache {cache} is empty.\n",
        "",
    )
    assert mar("cache", "list", "--json", cache=cache).stdout == "[]\n"
    assert mar("cache", "size", cache=cache).stdout == (
        "archives      0 entries  0 B\nenvironments  0 entries  0 B\ntotal         0 entries  0 B\n"
    )


def test_list_and_size_show_every_entry_most_recent_first(
    cache: Path, filled: dict[str, Path]
) -> None:
    old, new, env = filled["old"], filled["new"], filled["env"]
    listed = mar("cache", "list", cache=cache)
    rows = [
        ("KIND", "NAME", "MODEL", "SIZE", "LAST USED", "IN USE"),
        ("archive", short(new), "new", size_of(new), "just now", ""),
        ("environment", "0123456789abcdef", "greeter", size_of(env), "3 days ago", ""),
        ("archive", short(old), "old", size_of(old), "10 days ago", ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    expected = "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, expected, "")

    entries = json.loads(mar("cache", "list", "--json", cache=cache).stdout)
    assert [(e["kind"], e["name"], e["path"], e["model"], e["in_use"]) for e in entries] == [
        ("archive", new.name, str(new), "new", False),
        ("environment", "0123456789abcdef", str(env), "greeter", False),
        ("archive", old.name, str(old), "old", False),
    ]
    sizes = [e["size"] for e in entries]
    assert 100 * KIB < sizes[0] < 101 * KIB and 200 * KIB < sizes[1] < 201 * KIB
    assert all(e["last_used"].endswith("Z") for e in entries)

    total = json.loads(mar("cache", "size", "--json", cache=cache).stdout)
    assert total == {
        "path": str(cache),
        "archives": {"entries": 2, "size": sizes[0] + sizes[2]},
        "environments": {"entries": 1, "size": sizes[1]},
        "total": {"entries": 3, "size": sum(sizes)},
    }


def test_prune_older_than_removes_what_was_unused_for_longer(
    cache: Path, filled: dict[str, Path]
) -> None:
    old, new, env = filled["old"], filled["new"], filled["env"]
    old_size, kept = size_of(old), sum(tree_size(path) for path in (new, env))
    # The default is 30 days: nothing is that old.
    assert mar("cache", "prune", cache=cache).stdout == (
        f"Removed 0 entries, freed 0 B; {human_size(kept + tree_size(old))} left.\n"
    )
    pruned = mar("cache", "prune", "--older-than", "5", cache=cache)
    assert (pruned.returncode, pruned.stdout, pruned.stderr) == (
        0,
        f"removed archive {short(old)} (model old), {old_size}\n"
        f"Removed 1 entry, freed {old_size}; {human_size(kept)} left.\n",
        "",
    )
    assert not old.exists() and new.is_dir() and env.is_dir()
    assert not (cache / "extracted" / "v2" / "use" / old.name).exists()


def test_max_size_removes_the_least_recently_used_until_the_rest_fit(
    cache: Path, filled: dict[str, Path]
) -> None:
    old, new, env = filled["old"], filled["new"], filled["env"]
    old_size, env_size = size_of(old), size_of(env)
    before = sorted(p for p in cache.rglob("*"))

    dry = mar("cache", "prune", "--max-size", "150K", "--dry-run", cache=cache)
    assert (dry.returncode, dry.stderr) == (0, "")
    lines = dry.stdout.splitlines()
    assert lines[:2] == [
        f"would remove archive {short(old)} (model old), {old_size}",
        f"would remove environment 0123456789abcdef (model greeter), {env_size}",
    ]
    assert lines[2].startswith("Would remove 2 entries, ") and lines[2].endswith(
        f"; {size_of(new)} would stay (dry run)."
    )
    assert sorted(p for p in cache.rglob("*")) == before  # a dry run removes nothing

    done = mar("cache", "prune", "--max-size", "150K", cache=cache)
    removed = [line.replace("would remove", "removed") for line in lines[:2]]
    assert done.stdout.splitlines()[:2] == removed
    assert not old.exists() and not env.exists() and new.is_dir()
    # What fits stays.
    assert mar("cache", "prune", "--max-size", "150K", cache=cache).stdout.startswith("Removed 0")


def test_clean_refuses_without_yes_when_nobody_can_answer(
    cache: Path, filled: dict[str, Path]
) -> None:
    refused = mar("cache", "clean", cache=cache)
    assert (refused.returncode, refused.stdout, refused.stderr) == (
        2,
        "",
        "mar: error: refusing to clean the cache without confirmation: standard input is not "
        "a terminal.\nhint: pass --yes to confirm, or --dry-run to see what would be removed.\n",
    )
    assert all(path.exists() for path in filled.values())
    cleaned = mar("cache", "clean", "--yes", cache=cache)
    assert cleaned.returncode == 0 and cleaned.stdout.endswith("; 0 B left.\n")
    assert not any(path.exists() for path in filled.values())
    assert mar("cache", "list", cache=cache).stdout == f"The cache {cache} is empty.\n"


def test_clean_at_a_terminal_asks_first(cache: Path, filled: dict[str, Path]) -> None:
    argv = [sys.executable, "-m", "mar_tools", "cache", "clean"]
    question = f"Remove everything in the cache {cache}? [y/N]:"
    declined = run_in_terminal(argv, mar_env(cache), answers={question: "n"})
    assert (declined.returncode, declined.stdout) == (1, "")
    assert declined.terminal.replace("\r\n", "\n") == f"{question} n\nNothing removed.\n"
    assert all(path.exists() for path in filled.values())

    accepted = run_in_terminal(argv, mar_env(cache), answers={question: "y"})
    assert accepted.returncode == 0, accepted.terminal
    assert "\nRemoved 3 entries, freed " in accepted.stdout
    assert accepted.stdout.endswith("; 0 B left.\n")
    assert not any(path.exists() for path in filled.values())


def test_env_prune_all_asks_too_and_has_a_dry_run(cache: Path, filled: dict[str, Path]) -> None:
    env = filled["env"]
    refused = mar("env", "prune", "--all", cache=cache)
    assert refused.returncode == 2 and "refusing to remove every environment" in refused.stderr
    dry = mar("env", "prune", "--all", "--dry-run", cache=cache)
    assert (dry.returncode, dry.stdout) == (
        0,
        f"would remove environment 0123456789abcdef (model greeter), {size_of(env)}\n"
        f"Would remove 1 entry, {size_of(env)} (dry run).\n",
    )
    assert env.is_dir()
    done = mar("env", "prune", "--all", "--yes", cache=cache)
    assert done.stdout.startswith("removed environment 0123456789abcdef") and not env.exists()


def test_prune_removes_what_killed_commands_left(cache: Path, filled: dict[str, Path]) -> None:
    from tests.core.writers import kill, start_half_writer

    dead, extraction_leftover = start_half_writer(cache / "extracted" / "v2" / "extraction", "dir")
    kill(dead)
    build_leftover = cache / "envs" / ".trash-0123456789abcdef-0a0b0c0d"
    (build_leftover / "lib").mkdir(parents=True)
    assert extraction_leftover is not None and extraction_leftover.is_dir()

    dry = mar("cache", "prune", "--dry-run", cache=cache)
    assert dry.stdout.splitlines()[0] == "would remove 2 leftovers of killed commands"
    assert extraction_leftover.is_dir() and build_leftover.is_dir()
    done = mar("cache", "prune", cache=cache)
    assert done.stdout.splitlines()[0] == "removed 2 leftovers of killed commands"
    assert not extraction_leftover.exists() and not build_leftover.exists()
    assert all(path.is_dir() for path in filled.values())  # nothing that old
