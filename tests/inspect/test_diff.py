"""``mar diff``: the same model in any two formats is the same; every kind of change is
found and shown (whole outputs); exit codes as ``git diff --exit-code``; tensors compared
in every serialized form; CRC-32 versus SHA-256 comparison; failure cases."""

from __future__ import annotations

import itertools
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.schema import validator
from tests.inspect.commands import mar
from tests.inspect.models import FORMATS, Weights, build, build_upstream, model_dir
from tests.validate.builders import members, write_zip

CHANGED = {
    "requirements.txt": "numpy>=1.0\ntorch\n",
    "model-config.yaml": "batchSize: 8\nmaxBatchDelay: 50\nhandler:\n  threshold: 0.7\n",
    "labels.json": "{}",
}


def diff_json(*args: str) -> tuple[int, Any]:
    code, out, err = mar("diff", "--format", "json", *args)
    assert err == ""
    data = json.loads(out)
    assert list(validator("diff").iter_errors(data)) == []
    return code, data


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(FORMATS, 2)))
def test_the_same_model_in_any_two_formats(
    archives: dict[str, Path], first: str, second: str
) -> None:
    code, data = diff_json("--exit-code", str(archives[first]), str(archives[second]))
    assert (code, data["same"], data["entries"], data["tensors"]) == (0, True, [], None)


def test_same_model_text(archives: dict[str, Path]) -> None:
    first, second = archives["default"], archives["no-archive"]
    assert mar("diff", "--exit-code", str(first), str(second)) == (
        0,
        f"--- {first} (zip)\n"
        f"+++ {second} (directory)\n"
        "\n"
        "Same model: no differences (entries compared by CRC-32 and size).\n",
        "",
    )


def test_recompressed_and_retimestamped_is_the_same(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    rezipped = tmp_path / "re.mar"
    with zipfile.ZipFile(archives["default"]) as source, zipfile.ZipFile(rezipped, "w") as out:
        for info in reversed(source.infolist()):
            data = source.read(info)
            if info.filename == "MAR-INF/MANIFEST.json":
                data = data.replace(b"14/11/2023 22:13:20", b"01/02/2025 10:00:00")
            copy = zipfile.ZipInfo(info.filename, date_time=(2025, 2, 1, 10, 0, 0))
            out.writestr(copy, data, zipfile.ZIP_STORED)
    code, data = diff_json("--exit-code", str(archives["default"]), str(rezipped))
    assert (code, data["same"]) == (0, True)
    assert data["ignored"] == [
        {"path": "createdOn", "status": "changed", "before": "14/11/2023 22:13:20",
         "after": "01/02/2025 10:00:00"}
    ]  # fmt: skip


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, shifted: Weights) -> Path:
    root = tmp_path_factory.mktemp("changed")
    source = model_dir(root / "src", shifted.state_dict, **CHANGED)
    return build(source, root / "out", "tgz", version="2.0", extra_files=("labels.json",))


def test_every_kind_of_change_text(archives: dict[str, Path], changed: Path) -> None:
    first = archives["default"]
    code, out, err = mar("diff", "--exit-code", str(first), str(changed))
    assert (code, err) == (1, "")
    assert out == (
        f"--- {first} (zip)\n"
        f"+++ {changed} (tgz)\n"
        "\n"
        "Manifest\n"
        '  ~  model.modelVersion  "1.0" → "2.0"\n'
        "\n"
        "Config\n"
        "  ~  batchSize          4 → 8\n"
        "  ~  handler.threshold  0.5 → 0.7\n"
        "  -  minWorkers         1\n"
        "\n"
        "Requirements\n"
        "  +  torch\n"
        "  -  requests==2.0\n"
        "\n"
        "Entries\n"
        "  +  labels.json        2 B\n"
        "  ~  model-config.yaml  71 B → 57 B\n"
        "  ~  requirements.txt   47 B → 17 B\n"
        "  ~  weights.pt         2.2 KiB → 2.2 KiB\n"
        "\n"
        "Tensors (weights.pt; 2 unchanged)\n"
        "    name       dtype    shape   changed  max |Δ|  note\n"
        "  ~ fc.weight  float32  [2, 3]   1 of 6     0.25\n"
        "\n"
        "Different: 1 manifest field, 3 config keys, 2 requirement lines, 4 entries, 1 tensor "
        "(entries compared by CRC-32 and size).\n"
    )
    assert mar("diff", str(first), str(changed))[0] == 0  # without --exit-code


def test_every_kind_of_change_json(archives: dict[str, Path], changed: Path) -> None:
    code, data = diff_json(str(archives["zip-store"]), str(changed))
    assert (code, data["same"], data["compared_by"]) == (0, False, "crc32")
    assert data["requirements"] == {"added": ["torch"], "removed": ["requests==2.0"]}
    assert [(e["name"], e["status"]) for e in data["entries"]] == [
        ("labels.json", "added"), ("model-config.yaml", "changed"),
        ("requirements.txt", "changed"), ("weights.pt", "changed"),
    ]  # fmt: skip
    assert data["tensors"] == {
        "first": "weights.pt", "second": "weights.pt", "unchanged": 2, "note": None,
        "changes": [{
            "name": "fc.weight", "status": "changed", "changed_elements": 1,
            "max_abs_diff": 0.25, "note": None,
            "before": {"name": "fc.weight", "dtype": "float32", "shape": [2, 3]},
            "after": {"name": "fc.weight", "dtype": "float32", "shape": [2, 3]},
        }],
    }  # fmt: skip


@pytest.mark.parametrize("form", ["state_dict", "scripted", "whole_model", "legacy", "safetensors"])
def test_tensors_compared_in_every_serialized_form(
    weights: Weights, shifted: Weights, tmp_path: Path, form: str
) -> None:
    first = build(model_dir(tmp_path / "a", getattr(weights, form)), tmp_path / "x", "default")
    second = build(model_dir(tmp_path / "b", getattr(shifted, form)), tmp_path / "y", "tgz")
    code, data = diff_json("--exit-code", str(first), str(second))
    assert code == 1
    changes = data["tensors"]["changes"]
    assert [(c["name"], c["changed_elements"], c["max_abs_diff"]) for c in changes] == [
        ("fc.weight", 1, 0.25)
    ]


def test_added_removed_and_reshaped_tensors(tmp_path: Path) -> None:
    import torch

    def saved(tensors: dict[str, object]) -> bytes:
        path = tmp_path / "t.pt"
        torch.save(tensors, path)
        return path.read_bytes()

    old = saved({"a": torch.zeros(2), "b": torch.zeros(3), "c": torch.ones(2)})
    new = saved({"a": torch.zeros(2, dtype=torch.float16), "c": torch.ones(2), "d": torch.ones(1)})
    first = build(model_dir(tmp_path / "a", old), tmp_path / "x", "default")
    second = build(model_dir(tmp_path / "b", new), tmp_path / "y", "default")
    _, data = diff_json(str(first), str(second))
    changes = data["tensors"]["changes"]
    assert [(c["name"], c["status"], c["note"]) for c in changes] == [
        ("a", "changed", "dtype or shape changed"), ("b", "removed", None), ("d", "added", None)
    ]  # fmt: skip
    assert data["tensors"]["unchanged"] == 1


def forged(data: bytes, target_crc: int) -> bytes:
    """*data* with its last 4 bytes changed so that its CRC-32 is *target_crc* (CRC-32 is
    affine in those bits: solve the 32 linear equations over GF(2))."""
    prefix = data[:-4]

    def crc_of(bits: int) -> int:
        return zlib.crc32(prefix + bits.to_bytes(4, "little"))

    base = crc_of(0)
    rows = [(crc_of(1 << i) ^ base, 1 << i) for i in range(32)]  # (effect, bit)
    want, solution = target_crc ^ base, 0
    for position in range(32):
        pivot = next((r for r in rows if r[0] >> position & 1), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        rows = [(e ^ pivot[0], b ^ pivot[1]) if e >> position & 1 else (e, b) for e, b in rows]
        if want >> position & 1:
            want ^= pivot[0]
            solution ^= pivot[1]
    assert want == 0
    return prefix + solution.to_bytes(4, "little")


def test_crc_comparison_can_be_forged_sha256_cannot(tmp_path: Path, weights: Weights) -> None:
    files = members(weights.state_dict)
    original = files["handler.py"] + b"# padding\n"
    files["handler.py"] = original
    evil = forged(b"import os; os.system('x')".ljust(len(original), b"#"), zlib.crc32(original))
    assert zlib.crc32(evil) == zlib.crc32(original) and evil != original
    first = write_zip(tmp_path / "a.mar", files)
    second = write_zip(tmp_path / "b.mar", {**files, "handler.py": evil})
    assert diff_json("--exit-code", str(first), str(second))[0] == 0
    code, data = diff_json("--exit-code", "--digest", str(first), str(second))
    assert (code, data["compared_by"]) == (1, "sha256")
    assert data["entries"] == [
        {"name": "handler.py", "status": "changed", "before_size": 153, "after_size": 153}
    ]
    first_digest, second_digest = data["first"], data["second"]
    assert first_digest["content_digest"] != second_digest["content_digest"]


@pytest.mark.compat
@pytest.mark.parametrize("fmt", FORMATS)
def test_upstream_built_is_the_same_model(
    upstream_archiver: Path, sources: Path, archives: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    theirs = build_upstream(upstream_archiver, sources, tmp_path, fmt)
    code, data = diff_json("--exit-code", "--digest", str(theirs), str(archives["default"]))
    assert (code, data["same"]) == (0, True)


def test_failure_cases(archives: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.mar"
    junk.write_bytes(os.urandom(64))
    code, out, err = mar("diff", "--exit-code", str(archives["default"]), str(junk))
    assert (code, out) == (3, "")
    assert err.startswith(f"mar: error: {junk}: not a model archive")
    assert mar("diff", str(archives["default"]))[0] == 2
    assert mar("diff", str(junk), str(tmp_path / "missing"))[0] == 2
