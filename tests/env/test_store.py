"""The environment store: atomic publishing, leftovers, pruning, locks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.reporter import SilentReporter
from mar_tools.env.lock import exclusive, held, hold_shared, is_free
from mar_tools.env.pruning import Removed, prune
from mar_tools.env.store import EnvStore
from mar_tools.env.venv_files import EnvRecord, read_record, write_record

DAY = 86400.0
PAYLOAD = 2 * 1024 * 1024


def record(model: str, key: str) -> EnvRecord:
    return EnvRecord(
        key=key,
        model=model,
        created="2026-01-01T00:00:00+00:00",
        installer="pip",
        python="3.11.7",
        torch="2.13.0+cpu",
        requirements="requirements.txt",
        format=1,
    )


def fake_env(store: EnvStore, short: str, model: str, age_days: float) -> Path:
    """A finished environment as the store sees it: a directory, files, a record."""
    root = store.path(short)
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "payload.bin").write_bytes(b"\0" * PAYLOAD)
    write_record(root, record(model, short * 4))
    stamp = time.time() - age_days * DAY
    os.utime(root / "mar-env.json", (stamp, stamp))
    return root


def test_publish_renames_the_build_and_points_its_scripts_at_the_final_path(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    build = store.new_build_dir("abcd")
    (build / "bin").mkdir()
    script = build / "bin" / "tool"
    script.write_text(f"#!{build}/bin/python\nimport tool\n")
    script.chmod(0o755)
    (build / "bin" / "python").symlink_to("/usr/bin/python3")
    (build / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = virtualenv {build}\n")
    write_record(build, record("m", "abcd" * 4))

    env = store.publish(build, "abcd")

    assert env.path == tmp_path / "envs" / "abcd" and not build.exists()
    config = (env.path / "pyvenv.cfg").read_text()
    assert config == f"home = /usr/bin\ncommand = virtualenv {env.path}\n"
    assert (env.path / "bin" / "tool").read_text() == f"#!{env.path}/bin/python\nimport tool\n"
    assert (env.path / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert str((env.path / "bin" / "python").readlink()) == "/usr/bin/python3"
    assert env.record == record("m", "abcd" * 4)


def test_publish_replaces_an_older_environment_and_cleans_dead_builds(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    old = fake_env(store, "abcd", "old", 0)
    dead = tmp_path / "envs" / ".build-abcd-00000000"
    dead.mkdir()
    build = store.new_build_dir("abcd")
    write_record(build, record("new", "abcd" * 4))

    env = store.publish(build, "abcd")

    assert env.path == old and env.record.model == "new"
    assert not dead.exists()
    assert sorted(p.name for p in (tmp_path / "envs").iterdir()) == ["abcd"]


def test_a_directory_without_a_valid_record_is_not_an_environment(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "good", "m", 0)
    (tmp_path / "envs" / "half").mkdir()
    (tmp_path / "envs" / "broken").mkdir()
    (tmp_path / "envs" / "broken" / "mar-env.json").write_text('{"key": "x"}')

    assert [env.short for env in store.environments()] == ["good"]
    assert store.get("half") is None and read_record(tmp_path / "envs" / "broken") is None
    assert [p.name for p in store.leftovers()] == ["broken", "half"]


def test_leftovers_skip_builds_in_progress(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    active = store.new_build_dir("busy")
    abandoned = store.new_build_dir("dead")
    trash = tmp_path / "envs" / ".trash-gone-12345678"
    trash.mkdir()

    with held(store.lock_path("busy"), "building", SilentReporter()):
        assert not is_free(store.lock_path("busy"))
        assert store.leftovers() == [abandoned, trash]
    assert store.leftovers() == [active, abandoned, trash]


def test_environments_are_listed_most_recently_used_first(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "older", "a", 5)
    fake_env(store, "newer", "b", 1)
    unused = store.get("older")
    assert unused is not None

    assert [env.short for env in store.environments()] == ["newer", "older"]
    store.touch(unused)
    assert [env.short for env in store.environments()] == ["older", "newer"]
    assert unused.size() == PAYLOAD + len(record("a", "older" * 4).to_json())


def test_prune_by_age_all_and_busy(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "fresh", "a", 1)
    fake_env(store, "stale", "b", 40)
    (tmp_path / "envs" / ".build-dead-00000000").mkdir()

    report = prune(store)  # default: 30 days, plus leftovers

    assert report.removed == [
        Removed(".build-dead-00000000", None, 0),
        Removed("stale", "b", PAYLOAD + len(record("b", "stale" * 4).to_json())),
    ]
    assert [env.short for env in store.environments()] == ["fresh"]

    with held(store.lock_path("fresh"), "rebuilding", SilentReporter()):
        busy = prune(store, everything=True)
    assert busy.removed == [] and busy.busy == ["fresh"]

    store.log_path("gone").parent.mkdir()
    store.log_path("gone").write_text("pip said no")
    assert [r.name for r in prune(store, older_than_days=0).removed] == ["fresh"]
    assert store.log_path("gone").exists()  # kept: only --all clears failure logs
    prune(store, everything=True)
    assert store.environments() == [] and not store.logs.exists()


def test_a_held_lock_makes_others_wait_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    reporter = SilentReporter()
    messages = reporter.infos
    with (
        held(path, "building x", reporter),
        pytest.raises(EnvironmentSetupError) as caught,
        held(path, "building x", reporter, wait=0.2),
    ):
        pass
    assert messages == ["waiting for another mar process that is building x..."]
    assert caught.value.message == "gave up after 0 s waiting for another process building x."
    with held(path, "building x", reporter):
        assert len(messages) == 1  # free again: no waiting


#: Claims environment argv[2] of the store at argv[1] (as a run does), says so, and keeps
#: it until its stdin closes.
CLAIMER = """\
import sys
from pathlib import Path
from mar_tools.env.store import EnvStore
found = EnvStore(Path(sys.argv[1])).claim(sys.argv[2])
print(found is not None, flush=True)
sys.stdin.read()
"""


def test_prune_skips_an_environment_a_running_process_uses(tmp_path: Path) -> None:
    """A run holds its environment until it exits; prune used to remove it from under it."""
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "inuse", "a", 40)
    user = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(store.root), "inuse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert user.stdout is not None and user.stdout.readline() == "True\n"

        report = prune(store, everything=True)

        assert (report.removed, report.busy) == ([], ["inuse"])
        assert store.get("inuse") is not None
    finally:
        user.communicate("", timeout=30)
    assert [r.name for r in prune(store, everything=True).removed] == ["inuse"]


def test_use_locks_are_shared_and_keep_prune_out(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "x.use"
    with exclusive(path) as free:
        assert free
    hold_shared(path)
    hold_shared(path)  # a second claim by the same process changes nothing
    with exclusive(path) as free:
        assert not free
    assert EnvStore(tmp_path / "envs").claim("nothing") is None
