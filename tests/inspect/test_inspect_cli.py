"""``mar inspect`` on the command line: whole outputs, every format, JSON against its
schema, upstream-built archives, and the failure cases."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.schema import validator
from tests.inspect.commands import mar
from tests.inspect.models import FORMATS, Weights, build, build_upstream, model_dir
from tests.validate.builders import members, write_zip


def invoke(*args: str) -> tuple[int, str, str]:
    return mar("inspect", *args)


def inspect_json(path: Path, *flags: str) -> Any:
    code, out, err = invoke("--format", "json", *flags, str(path))
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert list(validator("inspect").iter_errors(data)) == []
    return data


def test_whole_text_output(archives: dict[str, Path]) -> None:
    path = archives["default"]
    code, out, err = invoke(str(path))
    assert (code, err) == (0, "")
    assert out == (
        f"{path} (zip, 1.9 KiB)\n"
        "\n"
        "Manifest\n"
        "  model name        m\n"
        "  model version     1.0\n"
        "  runtime           python\n"
        "  handler           handler.py\n"
        "  serialized file   weights.pt\n"
        "  model file        model.py\n"
        "  requirements      requirements.txt\n"
        "  config file       model-config.yaml\n"
        "  created on        14/11/2023 22:13:20\n"
        "  archiver version  0.12.0\n"
        "\n"
        "Model\n"
        "  handler entry  handler.py: class MyHandler\n"
        "  model class    model.py: class Net\n"
        "  serialized     weights.pt, 2.2 KiB: state dict (torch-zip)\n"
        "  tensors        3 (float32 ×2, bfloat16 ×1); 10 parameters, 36 B\n"
        "  requirements   numpy>=1.0, requests==2.0\n"
        "\n"
        "Config\n"
        "  file           model-config.yaml\n"
        "  minWorkers     1\n"
        "  batchSize      4\n"
        "  maxBatchDelay  50\n"
        "  handler keys   handler\n"
        "\n"
        "Entries (6)\n"
        "  name                      size  compressed  method    crc32\n"
        "  handler.py                95 B        69 B  deflated  70f56d9d\n"
        "  model-config.yaml         71 B        70 B  deflated  0c7b295a\n"
        "  model.py                 134 B        98 B  deflated  27fd27ac\n"
        "  requirements.txt          47 B        46 B  deflated  f7e60014\n"
        "  weights.pt             2.2 KiB       811 B  deflated  f32707b0\n"
        "  MAR-INF/MANIFEST.json    337 B       185 B  deflated  522c036f\n"
    )


def test_digests_in_text(archives: dict[str, Path]) -> None:
    path = archives["zip-store"]
    code, out, _ = invoke("--digest", str(path))
    digest = inspect_json(path, "--digest")["content_digest"]
    assert code == 0
    assert out.endswith(
        "\nDigests\n"
        f"  sha256          {hashlib.sha256(path.read_bytes()).hexdigest()}\n"
        f"  content digest  {digest}\n"
    )


def test_every_format_tells_the_same_model(archives: dict[str, Path]) -> None:
    found = {fmt: inspect_json(path, "--digest") for fmt, path in archives.items()}
    assert [data["format"] for data in found.values()] == ["zip", "zip", "tgz", "directory"]
    assert len({data["content_digest"] for data in found.values()}) == 1
    assert found["no-archive"]["sha256"] is None
    keys = ("manifest", "handler", "model", "serialized", "requirements", "config")
    for data in found.values():
        assert {key: data[key] for key in keys} == {key: found["default"][key] for key in keys}
    names = {fmt: [entry["name"] for entry in data["entries"]] for fmt, data in found.items()}
    assert sorted(names["tgz"]) == sorted(names["default"]) == sorted(names["no-archive"])
    assert found["tgz"]["entries"][0]["method"] == "tar"
    assert found["default"]["serialized"] == {
        "file": "weights.pt", "size": 2209, "kind": "state_dict", "container": "torch-zip",
        "classes": [], "note": None,
        "tensors": {"count": 3, "parameters": 10, "bytes": 36,
                    "dtypes": {"float32": 2, "bfloat16": 1}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("form", "kind", "handler", "entry"),
    [
        ("scripted", "torchscript", "image_classifier",
         {"kind": "builtin", "module": "ts.torch_handler.image_classifier"}),
        ("safetensors", "safetensors", "fn_handler.py:predict",
         {"kind": "function", "file": "fn_handler.py", "name": "predict"}),
        ("legacy", "state_dict", "missing.py",
         {"kind": "unresolved", "note": "no missing.py in the archive and no built-in handler "
          "'missing.py'"}),
    ],
)  # fmt: skip
def test_serialized_kinds_and_handler_entry_points(
    weights: Weights, tmp_path: Path, form: str, kind: str, handler: str, entry: dict[str, str]
) -> None:
    source = model_dir(
        tmp_path / "src",
        getattr(weights, form),
        **{"fn_handler.py": "def predict(d, c):\n  pass\n"},
    )
    extra: dict[str, Any] = {"extra_files": ("fn_handler.py",)} if "fn_handler" in handler else {}
    built_with = "handler.py" if handler == "missing.py" else handler
    path = build(source, tmp_path / "out", "default", handler=built_with, **extra)
    if handler == "missing.py":
        rewritten = tmp_path / "broken-handler.mar"
        with zipfile.ZipFile(path) as original, zipfile.ZipFile(rewritten, "w") as out:
            for info in original.infolist():
                data = original.read(info)
                if info.filename == "MAR-INF/MANIFEST.json":
                    data = data.replace(b'"handler.py"', b'"missing.py"')
                out.writestr(info, data)
        path = rewritten
    data = inspect_json(path)
    assert data["serialized"]["kind"] == kind
    assert data["serialized"]["tensors"]["count"] == 3
    assert {key: data["handler"][key] for key in entry} == entry


@pytest.mark.compat
@pytest.mark.parametrize("fmt", FORMATS)
def test_upstream_built_archives(
    upstream_archiver: Path, sources: Path, archives: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    path = build_upstream(upstream_archiver, sources, tmp_path, fmt)
    ours = inspect_json(archives[fmt], "--digest")
    theirs = inspect_json(path, "--digest")
    assert theirs["content_digest"] == ours["content_digest"]
    for key in ("handler", "model", "serialized", "requirements", "config"):
        assert theirs[key] == ours[key]


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mar"
    junk.write_bytes(os.urandom(100))
    code, out, err = invoke(str(junk))
    assert (code, out) == (3, "")
    assert err == (
        f"mar: error: {junk}: not a model archive (expected a .mar zip, a .tar.gz or a "
        "directory).\n"
    )


def test_a_model_torchserve_cannot_use(tmp_path: Path, weights: Weights) -> None:
    files = members(weights.state_dict)
    del files["MAR-INF/MANIFEST.json"]
    path = write_zip(tmp_path / "nomanifest.mar", files)
    code, out, err = invoke(str(path))
    assert (code, out) == (3, "")
    assert err.startswith(f"mar: error: {path}: MAR-INF/MANIFEST.json is not in the archive.\n")


def test_an_unsafe_archive_is_shown_with_warnings(tmp_path: Path, weights: Weights) -> None:
    files = {**members(weights.state_dict), "../evil.sh": b"rm -rf ~"}
    path = write_zip(tmp_path / "evil.mar", files)
    code, out, _ = invoke(str(path))
    assert code == 0
    assert out.endswith(
        "\nWarnings\n  !  '../evil.sh': '..' path component; mar run and mar extract refuse it\n"
    )
    assert inspect_json(path)["warnings"] == [
        "'../evil.sh': '..' path component; mar run and mar extract refuse it"
    ]


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke(str(tmp_path / "nothing.mar"))
    assert code == 2
    assert "does not exist" in err
