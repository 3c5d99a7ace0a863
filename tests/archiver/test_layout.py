"""Where files land: upstream's flat layout, the relative layout, and name collisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.archiver.outputs import MANIFEST, entries, names_in_order, run_cli, write
from torch_model_archiver import ArchiveSpec, InputError, MissingInputError, build_archive
from torch_model_archiver.spec import ArchiveFormat, ExtraFilesLayout, Runtime

BASE = ["--model-name", "m", "--handler", "handler.py", "-v", "1.0"]


def build(model_dir: Path, *extra: str) -> dict[str, bytes]:
    outcome = run_cli([*BASE, *extra])
    assert outcome.code == 0, outcome.stderr
    return entries(model_dir / "m.mar")


def test_upstream_verified_example_layout(model_dir: Path) -> None:
    """Contract §1.4's example, checked against upstream 0.12 by hand: same names."""
    write(model_dir / "w.pth", b"weights")
    names = build(
        model_dir,
        "--model-file",
        "model.py",
        "--serialized-file",
        "w.pth",
        "--handler",
        "my_handler:fn",
        "--extra-files",
        "index_to_name.json,extra",
        "-r",
        "requirements.txt",
        "-c",
        "model-config.yaml",
    )
    assert sorted(names) == sorted(
        [
            "model.py",
            ".env",
            "requirements.txt",
            "w.pth",
            "model-config.yaml",
            "my_handler.py",
            "index_to_name.json",
            "a.txt",
            "sub/b.txt",
            MANIFEST,
        ]
    )


def test_glob_of_a_directory_flattens_each_matched_directory(model_dir: Path) -> None:
    """Upstream: 'extra/*' matches extra/sub and extra/__pycache__, whose children go to the
    root (the filter does not apply to a matched directory); '*' skips dot-names."""
    names = build(model_dir, "--extra-files", "extra/*")
    assert sorted(names) == [MANIFEST, "a.txt", "b.txt", "handler.py", "x.pyc"]


def test_directory_filter_applies_inside_named_directories_only(model_dir: Path) -> None:
    write(model_dir / "extra" / "sub" / "__pycache__" / "y.pyc", b"y")
    write(model_dir / "extra" / "sub" / "__MACOSX" / "z", b"z")
    write(model_dir / "extra" / "sub" / ".git" / "config", b"g")
    write(model_dir / "extra" / "sub" / ".keep", b"")
    write(model_dir / ".config" / "settings.json", b"{}")
    names = build(model_dir, "--extra-files", "extra,.config/settings.json")
    assert sorted(names) == sorted(
        [".env", "a.txt", "sub/.keep", "sub/b.txt", "settings.json", "handler.py", MANIFEST]
    )


def test_items_may_have_blanks_around_commas(model_dir: Path) -> None:
    """Upstream fails on 'a, b' (looks for ' b'); we strip, and skip empty items."""
    names = build(model_dir, "--extra-files", " index_to_name.json , model.py,,")
    assert sorted(names) == [MANIFEST, "handler.py", "index_to_name.json", "model.py"]


def test_question_mark_and_brackets_are_globs(model_dir: Path) -> None:
    write(model_dir / "l1.json", "1")
    write(model_dir / "l2.json", "2")
    names = build(model_dir, "--extra-files", "l?.json")
    assert {"l1.json", "l2.json"} <= set(names)
    names = build(model_dir, "-f", "--extra-files", "l[2].json")
    assert "l2.json" in names and "l1.json" not in names


def test_relative_layout_keeps_paths(model_dir: Path) -> None:
    write(model_dir / "assets" / "labels" / "x.json", "{}")
    names = build(
        model_dir,
        "--extra-files-layout",
        "relative",
        "--extra-files",
        "assets,index_to_name.json,extra/sub/b.txt",
    )
    assert sorted(names) == sorted(
        [
            "assets/labels/x.json",
            "index_to_name.json",
            "extra/sub/b.txt",
            "handler.py",
            MANIFEST,
        ]
    )


def test_relative_layout_keeps_the_named_files_at_the_root(model_dir: Path) -> None:
    """TorchServe looks for the handler, weights, model file, requirements and config at the
    model root, so those ignore the layout."""
    write(model_dir / "src" / "net.py", "class Net: pass\n")
    names = build(
        model_dir,
        "--extra-files-layout",
        "relative",
        "--model-file",
        "src/net.py",
        "-c",
        "model-config.yaml",
        "--extra-files",
        "extra/a.txt",
    )
    assert sorted(names) == sorted(
        ["net.py", "model-config.yaml", "extra/a.txt", "handler.py", MANIFEST]
    )


def test_relative_layout_refuses_paths_outside_the_current_directory(
    model_dir: Path, tmp_path: Path
) -> None:
    write(tmp_path / "outside.txt", "o")
    outcome = run_cli(
        [*BASE, "--extra-files-layout", "relative", "--extra-files", "../outside.txt"]
    )
    assert outcome.code == 1
    assert "--extra-files ../outside.txt: ../outside.txt is outside" in outcome.stderr
    assert "hint: with --extra-files-layout relative, run from a directory" in outcome.stderr


def test_relative_layout_accepts_absolute_paths_below_the_current_directory(
    model_dir: Path,
) -> None:
    names = build(
        model_dir,
        "--extra-files-layout",
        "relative",
        "--extra-files",
        str(model_dir / "extra" / "sub"),
    )
    assert "extra/sub/b.txt" in names


def test_same_name_from_two_directories_is_an_error_naming_both(model_dir: Path) -> None:
    write(model_dir / "a" / "config.json", "A")
    write(model_dir / "b" / "config.json", "B")
    outcome = run_cli([*BASE, "--extra-files", "a/config.json,b"])
    assert outcome.code == 1
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build m.mar: two files would both be stored as "
        "'config.json': --extra-files a/config.json and b/config.json (from --extra-files b)\n"
        "hint: rename one of them, or keep directory paths with --extra-files-layout relative.\n"
    )
    assert not (model_dir / "m.mar").exists()
    names = build(model_dir, "--extra-files-layout", "relative", "--extra-files", "a,b")
    assert {"a/config.json", "b/config.json"} <= set(names)


def test_handler_colliding_with_an_extra_file_is_an_error(model_dir: Path) -> None:
    write(model_dir / "other" / "handler.py", "x = 1\n")
    outcome = run_cli([*BASE, "--extra-files", "other"])
    assert outcome.code == 1
    assert (
        "two files would both be stored as 'handler.py': --handler handler.py and "
        "other/handler.py (from --extra-files other)"
    ) in outcome.stderr


def test_subdirectories_of_two_extra_directories_merge_unless_files_collide(
    model_dir: Path,
) -> None:
    """Upstream crashes (FileExistsError) when two extra dirs both hold sub/; we merge."""
    write(model_dir / "d1" / "sub" / "one.txt", "1")
    write(model_dir / "d2" / "sub" / "two.txt", "2")
    names = build(model_dir, "--extra-files", "d1,d2")
    assert {"sub/one.txt", "sub/two.txt"} <= set(names)


def test_the_same_file_named_twice_is_archived_once(model_dir: Path) -> None:
    names = build(model_dir, "--model-file", "model.py", "--extra-files", "model.py,./model.py")
    assert sorted(names) == [MANIFEST, "handler.py", "model.py"]


def test_a_name_both_file_and_directory_is_an_error(model_dir: Path) -> None:
    write(model_dir / "d" / "sub", "I am a file")
    outcome = run_cli([*BASE, "--extra-files", "d,extra"])
    assert outcome.code == 1
    assert (
        "'sub' would be both a file (d/sub (from --extra-files d)) and a directory holding "
        "'sub/b.txt' (extra/sub/b.txt (from --extra-files extra))"
    ) in outcome.stderr


def test_a_manifest_among_the_inputs_is_an_error(model_dir: Path) -> None:
    """Upstream writes two entries with the manifest's name (the last wins when read)."""
    write(model_dir / "bundle" / "MAR-INF" / "MANIFEST.json", "{}")
    outcome = run_cli([*BASE, "--extra-files", "bundle"])
    assert outcome.code == 1
    assert (
        "MAR-INF/MANIFEST.json (from --extra-files bundle): MAR-INF/MANIFEST.json is reserved"
        in outcome.stderr
    )


def test_symlinks_are_followed_and_loops_reported(model_dir: Path) -> None:
    (model_dir / "extra" / "linked").symlink_to(model_dir / "extra" / "sub")
    names = build(model_dir, "--extra-files", "extra")
    assert names["linked/b.txt"] == b"b\n"
    (model_dir / "extra" / "sub" / "loop").symlink_to(model_dir / "extra")
    outcome = run_cli([*BASE, "-f", "--extra-files", "extra"])
    assert outcome.code == 1
    assert "is a symbolic link to one of its parents" in outcome.stderr


def test_broken_symlinks_and_special_files_are_reported(model_dir: Path) -> None:
    (model_dir / "extra" / "dangling").symlink_to(model_dir / "gone")
    os.mkfifo(model_dir / "extra" / "pipe")
    outcome = run_cli([*BASE, "--extra-files", "extra"])
    assert outcome.code == 1
    assert "dangling: broken symbolic link or unreadable" in outcome.stderr
    assert "pipe is not a regular file (a pipe, socket or device)" in outcome.stderr


def test_a_directory_where_a_file_is_expected(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--serialized-file", "extra"])
    assert outcome.code == 1
    assert "--serialized-file extra: is a directory, not a file" in outcome.stderr


@pytest.mark.parametrize(
    ("handler", "copied", "manifest_value"),
    [
        ("handler", "handler.py", "handler"),
        ("handler.py", "handler.py", "handler.py"),
        ("my_handler:fn", "my_handler.py", "my_handler:fn"),
        ("my_handler.py:fn", "my_handler.py", "my_handler.py:fn"),
        ("sub/deep:fn", "deep.py", "deep:fn"),
        ("sub/deep.py", "deep.py", "deep.py"),
    ],
)
def test_handler_forms(model_dir: Path, handler: str, copied: str, manifest_value: str) -> None:
    write(model_dir / "sub" / "deep.py", "def fn(d, c):\n    return d\n")
    spec = ArchiveSpec(model_name="m", handler=handler, version="1", base_dir=model_dir)
    result = build_archive(spec)
    assert [entry.name for entry in result.entries] == [copied, MANIFEST]
    assert result.manifest.model.handler == manifest_value


@pytest.mark.parametrize("handler", ["image_classifier", "base_handler", "vision_handler"])
def test_builtin_handlers_are_not_copied(model_dir: Path, handler: str) -> None:
    """vision_handler is not in upstream's list (it fails there) but TorchServe loads it."""
    spec = ArchiveSpec(model_name="m", handler=handler, version="1", base_dir=model_dir)
    assert [entry.name for entry in build_archive(spec).entries] == [MANIFEST]


def test_a_local_file_named_like_a_backend_module_is_copied(model_dir: Path) -> None:
    write(model_dir / "vision_handler.py", "def handle(d, c):\n    return d\n")
    spec = ArchiveSpec(model_name="m", handler="vision_handler", version="1", base_dir=model_dir)
    assert [entry.name for entry in build_archive(spec).entries] == ["vision_handler.py", MANIFEST]


def test_lsp_handlers_are_shared_libraries(model_dir: Path) -> None:
    write(model_dir / "libmodel.so", b"\x7fELF")
    for handler in ("libmodel:Handler", "libmodel.so:Handler"):
        spec = ArchiveSpec(
            model_name="m",
            handler=handler,
            version="1",
            force=True,
            runtime=Runtime.LSP,
            base_dir=model_dir,
        )
        assert [entry.name for entry in build_archive(spec).entries] == ["libmodel.so", MANIFEST]
    spec = ArchiveSpec(
        model_name="m",
        handler="TorchScriptHandler",
        version="1",
        force=True,
        runtime=Runtime.LSP,
        base_dir=model_dir,
    )
    assert [entry.name for entry in build_archive(spec).entries] == [MANIFEST]


def test_empty_handler_is_kept_empty_with_a_warning(model_dir: Path) -> None:
    spec = ArchiveSpec(model_name="m", handler="", version="1", base_dir=model_dir)
    result = build_archive(spec)
    assert result.warnings == (
        "--handler is empty: TorchServe will use its default_service_handler",
    )
    assert '"handler": ""' in entries(model_dir / "m.mar")[MANIFEST].decode()


def test_entries_are_sorted_with_the_manifest_last(model_dir: Path) -> None:
    for fmt in ArchiveFormat.DEFAULT, ArchiveFormat.TGZ:
        spec = ArchiveSpec(
            model_name="m",
            handler="handler.py",
            version="1",
            base_dir=model_dir,
            extra_files=("extra", "model.py"),
            archive_format=fmt,
        )
        result = build_archive(spec)
        prefix = "m/" if fmt is ArchiveFormat.TGZ else ""
        expected = [".env", "a.txt", "handler.py", "model.py", "sub/b.txt", MANIFEST]
        assert names_in_order(result.path) == [prefix + name for name in expected]


def test_api_extra_files_may_contain_commas(model_dir: Path) -> None:
    write(model_dir / "a,b.txt", "comma")
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        extra_files=("a,b.txt",),
    )
    assert entries(build_archive(spec).path)["a,b.txt"] == b"comma"


def test_errors_list_every_problem_and_missing_ones_are_file_not_found(model_dir: Path) -> None:
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        extra_files=("nope1", "nope2"),
    )
    with pytest.raises(MissingInputError) as caught:
        build_archive(spec)
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.problems == (
        "--extra-files nope1: no such file",
        "--extra-files nope2: no such file",
    )
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        extra_files=("nope1",),
        serialized_file=Path("extra"),
    )
    with pytest.raises(InputError) as mixed:
        build_archive(spec)
    assert not isinstance(mixed.value, FileNotFoundError)
    assert len(mixed.value.problems) == 2


def test_layout_enum_values_match_the_flag() -> None:
    assert [layout.value for layout in ExtraFilesLayout] == ["flat", "relative"]


def test_build_temporaries_in_a_walked_directory_are_not_archived(model_dir: Path) -> None:
    write(model_dir / "extra" / ".m.mar.tma-0123abcd.partial", b"half of another build")
    write(model_dir / "extra" / ".keep.partial", b"an ordinary dot-file")
    names = build(model_dir, "--extra-files", "extra")
    assert ".keep.partial" in names
    assert not any(".tma-" in name for name in names)


def test_rebuilding_into_a_walked_directory_does_not_nest_the_previous_output(
    model_dir: Path,
) -> None:
    """Upstream (and we, before) archived the old m.mar into the new one: each rebuild grew,
    and SOURCE_DATE_EPOCH builds of unchanged inputs differed."""
    args = [*BASE, "--extra-files", ".", "-f"]
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    assert run_cli(args, env=env).code == 0
    first = (model_dir / "m.mar").read_bytes()
    outcome = run_cli(args, env=env)
    assert outcome.code == 0, outcome.stderr
    assert outcome.stderr == (
        "torch-model-archiver: warning: ./m.mar (from --extra-files .): skipped, it is the "
        "output this build replaces\n"
    )
    assert (model_dir / "m.mar").read_bytes() == first
    assert "m.mar" not in entries(model_dir / "m.mar")


def test_a_no_archive_output_inside_a_walked_directory_is_not_nested(model_dir: Path) -> None:
    args = [*BASE, "--extra-files", "extra", "--export-path", "extra"]
    args += ["--archive-format", "no-archive", "-f"]
    for _ in range(3):
        outcome = run_cli(args)
        assert outcome.code == 0, outcome.stderr
    assert sorted(entries(model_dir / "extra" / "m")) == [
        ".env",
        MANIFEST,
        "a.txt",
        "handler.py",
        "sub/b.txt",
    ]


def test_the_output_is_archived_when_an_item_names_it(model_dir: Path) -> None:
    """Only walks and globs skip it: naming it is a deliberate (if odd) choice."""
    assert run_cli([*BASE, "--extra-files", "*.mar"]).code == 0
    old = (model_dir / "m.mar").read_bytes()
    globbed = run_cli([*BASE, "-f", "--extra-files", "*.mar"])
    assert globbed.code == 0
    assert "m.mar (from --extra-files *.mar): skipped" in globbed.stderr
    assert "m.mar" not in entries(model_dir / "m.mar")
    old = (model_dir / "m.mar").read_bytes()
    assert run_cli([*BASE, "-f", "--extra-files", "m.mar"]).code == 0
    assert entries(model_dir / "m.mar")["m.mar"] == old
