"""Upstream 0.12's own archiver tests (unit and integration), rewritten against our API.

The resources mirror upstream's ``resources/regular_model`` (empty model and weights files,
a handler with ``my_handler``, a nested ``dir/1.py``); each case builds through the
upstream-compatible entry points, as upstream's tests do."""

from __future__ import annotations

import json
import sys
import tarfile
import time
from argparse import Namespace
from dataclasses import fields
from pathlib import Path

import pytest

from tests.archiver.outputs import MANIFEST, entries, write
from torch_model_archiver import (
    ModelArchiver,
    ModelArchiverConfig,
    ModelArchiverError,
    OutputExistsError,
    __version__,
    generate_model_archive,
)
from torch_model_archiver.config_fields import CONFIG_FIELDS
from torch_model_archiver.sources import is_ignored_dir
from torch_model_archiver.spec import MODEL_NAME_PATTERN, ArchiveFormat, ArchiveSpec


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "regular_model"
    write(root / "test_model.py", "")
    write(root / "test_serialized_file.pt", b"")
    write(root / "test_handler.py", "def my_handler(data, context):\n    return data\n")
    write(root / "test_index_to_name.json", "")
    write(root / "dummy-artifacts.txt", "dummy\n")
    write(root / "source_vocab.pt", b"vocab")
    write(root / "dir" / "1.py", "print(1)\n")
    monkeypatch.chdir(tmp_path)
    return root


def config(resources: Path, tmp_path: Path, **changes: object) -> ModelArchiverConfig:
    values: dict[str, object] = {
        "model_name": f"model{int(time.time() * 1000)}",
        "handler": str(resources / "test_handler.py"),
        "version": "1.0",
        "serialized_file": str(resources / "test_serialized_file.pt"),
        "model_file": str(resources / "test_model.py"),
        "extra_files": str(resources / "test_index_to_name.json"),
        "export_path": tmp_path / "export",  # a pathlib.Path, as upstream's tests pass
    }
    values.update(changes)
    return ModelArchiverConfig(**values)  # type: ignore[arg-type]


def check_manifest(manifest: dict[str, object], cfg: ModelArchiverConfig) -> None:
    time.strptime(str(manifest["createdOn"]), "%d/%m/%Y %H:%M:%S")
    assert manifest["runtime"] == "python"
    model = manifest["model"]
    assert isinstance(model, dict)
    assert model["modelName"] == cfg.model_name
    assert model["handler"] == cfg.handler.split("/")[-1]
    assert manifest["archiverVersion"] == __version__ == "0.12.0"


def output_of(cfg: ModelArchiverConfig) -> Path:
    suffix = ArchiveFormat(cfg.archive_format).suffix
    return Path(cfg.export_path) / f"{cfg.model_name}{suffix}"


@pytest.mark.parametrize("fmt", ["default", "no-archive", "zip-store"])
def test_integration_formats(resources: Path, tmp_path: Path, fmt: str) -> None:
    cfg = config(resources, tmp_path, archive_format=fmt)
    ModelArchiver.generate_model_archive(cfg)
    output = output_of(cfg)
    assert output.is_dir() if fmt == "no-archive" else output.is_file()
    check_manifest(json.loads(entries(output)[MANIFEST]), cfg)


def test_integration_tgz_with_three_extra_files(resources: Path, tmp_path: Path) -> None:
    extra = ",".join(
        str(resources / name)
        for name in ("test_index_to_name.json", "dummy-artifacts.txt", "dir/1.py")
    )
    cfg = config(resources, tmp_path, archive_format="tgz", extra_files=extra)
    generate_model_archive(cfg)
    with tarfile.open(output_of(cfg)) as archive:
        names = archive.getnames()
    name = cfg.model_name
    for member in (
        MANIFEST,
        "test_handler.py",
        "test_model.py",
        "test_serialized_file.pt",
        "dummy-artifacts.txt",
        "1.py",
    ):
        assert f"{name}/{member}" in names


def test_integration_twice_without_force_fails_with_force_works(
    resources: Path, tmp_path: Path
) -> None:
    cfg = config(resources, tmp_path)
    generate_model_archive(cfg)
    with pytest.raises(OutputExistsError):
        generate_model_archive(cfg)
    cfg.force = True
    generate_model_archive(cfg)
    store = config(resources, tmp_path, archive_format="zip-store", force=True)
    generate_model_archive(store)
    generate_model_archive(store)


@pytest.mark.parametrize("handler", ["test_handler", "test_handler:my_handler"])
def test_integration_handler_forms(resources: Path, tmp_path: Path, handler: str) -> None:
    cfg = config(resources, tmp_path, handler=str(resources / handler))
    generate_model_archive(cfg)
    found = entries(output_of(cfg))
    check_manifest(json.loads(found[MANIFEST]), cfg)
    assert "test_handler.py" in found


def test_integration_extra_directory_goes_to_the_root(resources: Path, tmp_path: Path) -> None:
    cfg = config(resources, tmp_path, extra_files=str(resources / "dir"))
    generate_model_archive(cfg)
    assert "1.py" in entries(output_of(cfg))


def test_integration_missing_extra_file_is_an_error(resources: Path, tmp_path: Path) -> None:
    cfg = config(resources, tmp_path, extra_files=str(resources / "nope.json"))
    with pytest.raises(FileNotFoundError):
        generate_model_archive(cfg)
    with pytest.raises(ModelArchiverError):
        generate_model_archive(cfg)
    assert not output_of(cfg).exists()


@pytest.mark.parametrize(
    ("handler", "extra"), [("image_classifier", None), ("text_classifier", "source_vocab.pt")]
)
def test_integration_default_handlers_with_a_relative_export_path(
    resources: Path, tmp_path: Path, handler: str, extra: str | None
) -> None:
    cfg = config(
        resources,
        tmp_path,
        handler=handler,
        export_path="model",
        extra_files=str(resources / extra) if extra else None,
    )
    generate_model_archive(cfg)
    found = entries(tmp_path / "model" / f"{cfg.model_name}.mar")
    assert json.loads(found[MANIFEST])["model"]["handler"] == handler
    assert f"{handler}.py" not in found


def test_zip_store_is_bigger_than_default(resources: Path, tmp_path: Path) -> None:
    write(resources / "text.txt", "compressible text\n" * 1000)
    sizes = []
    for fmt in ("zip-store", "default"):
        cfg = config(
            resources,
            tmp_path,
            archive_format=fmt,
            model_name=f"m-{fmt}",
            extra_files=str(resources / "text.txt"),
        )
        generate_model_archive(cfg)
        sizes.append(output_of(cfg).stat().st_size)
    assert sizes[0] > sizes[1]


def test_config_from_args_reads_exactly_the_twelve_fields(resources: Path) -> None:
    values = {
        "model_name": "m",
        "handler": "h.py",
        "version": "1",
        "serialized_file": "w.pt",
        "model_file": "model.py",
        "extra_files": "a,b",
        "runtime": "python3",
        "export_path": "/tmp/x",
        "archive_format": "tgz",
        "force": True,
        "requirements_file": "r.txt",
        "config_file": "c.yaml",
    }
    assert [item.name for item in fields(ModelArchiverConfig)] == list(values)
    assert tuple(values) == CONFIG_FIELDS  # what the command line reads without a config
    from_args = ModelArchiverConfig.from_args(Namespace(**values, unrelated="ignored"))
    assert from_args == ModelArchiverConfig(**values)  # type: ignore[arg-type]


def test_config_defaults_match_upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = ModelArchiverConfig("m", "h.py", "1")
    assert (cfg.serialized_file, cfg.model_file, cfg.extra_files, cfg.runtime) == (
        None,
        None,
        None,
        "python",
    )
    assert (cfg.archive_format, cfg.force, cfg.requirements_file, cfg.config_file) == (
        "default",
        False,
        None,
        None,
    )
    assert cfg.export_path == str(tmp_path), "the current directory when created"


def test_generate_model_archive_without_config_parses_the_command_line(
    resources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(resources)
    argv = ["torch-model-archiver", "--model-name", "cli", "--handler", "test_handler:my_handler"]
    monkeypatch.setattr(sys, "argv", [*argv, "-v", "1"])
    generate_model_archive()
    assert sorted(entries(resources / "cli.mar")) == [MANIFEST, "test_handler.py"]
    with pytest.raises(SystemExit) as exit_info:
        generate_model_archive()
    assert exit_info.value.code == 1


def test_manifest_keeps_an_odd_handler_string(resources: Path) -> None:
    spec = ArchiveSpec(model_name="m", handler="a.py::my-awesome-func", version="1.0")
    rendered = spec.manifest("01/01/2024 00:00:00").render()
    assert json.loads(rendered)["model"]["handler"] == "a.py::my-awesome-func"


def test_output_suffixes_are_upstreams_four() -> None:
    assert {fmt.value: fmt.suffix for fmt in ArchiveFormat} == {
        "tgz": ".tar.gz",
        "no-archive": "",
        "zip-store": ".mar",
        "default": ".mar",
    }


@pytest.mark.parametrize(
    "name",
    ["my-awesome-model", "Aa.model", "a", "aA.model", "a1234.model", "a-A-A.model", "123-abc"],
)
def test_model_name_pattern_accepts(name: str) -> None:
    assert MODEL_NAME_PATTERN.fullmatch(name)


@pytest.mark.parametrize(
    "name",
    [
        "abc%",
        "123$abc",
        "abc!123",
        "@123",
        "(model",
        "mdoel)",
        "12*model-a.model",
        "##.model",
        "-.model",
        "model\n",
    ],
)
def test_model_name_pattern_rejects(name: str) -> None:
    assert not MODEL_NAME_PATTERN.fullmatch(name)


def test_directory_filter() -> None:
    assert is_ignored_dir("__MACOSX")
    assert is_ignored_dir("__pycache__")
    assert is_ignored_dir(".gitignore")
    assert not is_ignored_dir("my-model")


def test_files_are_never_filtered(resources: Path, tmp_path: Path) -> None:
    """Upstream's file filter is dead code: .pyc, .DS_Store, .mar files are archived."""
    for name in ("x.pyc", ".DS_Store", "old.mar", "MANIFEST.json"):
        write(resources / "bundle" / name, name)
    cfg = config(resources, tmp_path, extra_files=str(resources / "bundle"))
    generate_model_archive(cfg)
    assert {"x.pyc", ".DS_Store", "old.mar", "MANIFEST.json"} <= set(entries(output_of(cfg)))


def test_invalid_runtime_through_the_api(resources: Path, tmp_path: Path) -> None:
    cfg = config(resources, tmp_path, runtime="java")
    with pytest.raises(ModelArchiverError, match="runtime 'java' is not one of"):
        generate_model_archive(cfg)


def test_path_like_values_are_accepted(resources: Path, tmp_path: Path) -> None:
    cfg = config(
        resources,
        tmp_path,
        handler=resources / "test_handler.py",
        serialized_file=resources / "test_serialized_file.pt",
        extra_files=[resources / "dummy-artifacts.txt", resources / "dir"],
    )
    generate_model_archive(cfg)
    found = entries(output_of(cfg))
    assert {"test_handler.py", "test_serialized_file.pt", "dummy-artifacts.txt", "1.py"} <= set(
        found
    )
