"""The manifest, model-config.yaml and requirements.txt: schema, lines, pointers, references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mar_tools.report.result import ArchiveResult
from tests.validate.builders import MANIFEST, check, manifest, members, write_tgz, write_zip


def archive(tmp_path: Path, weights: bytes, **changes: bytes | None) -> ArchiveResult:
    return check(write_zip(tmp_path / "m.mar", members(weights, **changes)))


def rows(result: ArchiveResult) -> list[tuple[str, str | None, int | None, str | None, str]]:
    return [
        (f.code, f.location.member, f.location.line, f.location.pointer, f.message)
        for f in result.findings
    ]


# --- manifest ---------------------------------------------------------------------------
def test_legacy_and_unknown_manifest_keys_are_tolerated(tmp_path: Path, weights: bytes) -> None:
    legacy = manifest(
        modelServerVersion="1.0",
        implementationVersion="1.0",
        specificationVersion="1.0",
        description="old archive",
        somethingNew={"x": 1},
    )
    assert archive(tmp_path, weights, manifest=legacy).findings == ()


def test_manifest_schema_findings_point_at_key_and_line(tmp_path: Path, weights: bytes) -> None:
    bad = manifest({"modelName": "-bad name", "handler": 7}, runtime="python")
    result = archive(tmp_path, weights, manifest=bad)
    assert rows(result) == [
        (
            "manifest.schema",
            MANIFEST,
            5,
            "/model/modelName",
            "/model/modelName: '-bad name' does not match '^[A-Za-z0-9][A-Za-z0-9_\\\\-.]*$'.",
        ),
        (
            "manifest.schema",
            MANIFEST,
            7,
            "/model/handler",
            "model.handler must be a string, not a number; TorchServe cannot load a model "
            "without a handler.",
        ),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[1, 2]", "MAR-INF/MANIFEST.json holds a JSON list, not an object."),
        (b"\xff\xfe{}", "MAR-INF/MANIFEST.json is not UTF-8 text (invalid start byte)."),
        (b"[" * 100_000, "MAR-INF/MANIFEST.json nests too deeply to be read."),
    ],
)
def test_manifest_that_is_not_an_object(
    payload: bytes, message: str, tmp_path: Path, weights: bytes
) -> None:
    result = archive(tmp_path, weights, manifest=payload)
    assert [(f.code, f.message) for f in result.findings] == [("manifest.invalid-json", message)]


def test_unsafe_references_are_refused(tmp_path: Path, weights: bytes) -> None:
    bad = manifest({"serializedFile": "/etc/passwd", "requirementsFile": "C:\\r.txt"})
    result = archive(tmp_path, weights, manifest=bad)
    assert [(f.code, f.location.pointer) for f in result.findings] == [
        ("manifest.unsafe-reference", "/model/serializedFile"),
        ("manifest.unsafe-reference", "/model/requirementsFile"),
    ]


def test_tar_without_top_directory_gets_a_hint(tmp_path: Path, weights: bytes) -> None:
    result = check(write_tgz(tmp_path / "m.tar.gz", members(weights), root=None))
    missing = [f for f in result.findings if f.code == "manifest.missing"]
    assert len(missing) == 1
    assert missing[0].hint is not None and "first path component" in missing[0].hint


# --- model-config.yaml ------------------------------------------------------------------
CONFIG = b"""\
minWorkers: 1
maxWorkers: 4
batchSize: 2.0
responseTimeout: 0
startupTimeout: 3000000000
deviceType: GPU
deviceIds: [0, -1]
useVenv: yes
torchrun:
  nproc-per-node: 2
  rdzv-backend: c10d
  max-restarts: 3
handler:
  anything: [1, 2]
pt2:
  compile:
    enable: true
    backend: magic
customKey: ignored by the frontend
"""


def test_config_findings_have_pointer_line_and_code(tmp_path: Path, weights: bytes) -> None:
    result = archive(tmp_path, weights, model_config_yaml=CONFIG)
    assert [(f.code, f.location.line, f.location.pointer) for f in result.findings] == [
        ("config.type", 3, "/batchSize"),
        ("config.value", 4, "/responseTimeout"),
        ("config.value", 5, "/startupTimeout"),
        ("config.value", 7, "/deviceIds/1"),
        ("config.unknown-key", 10, "/torchrun"),
        ("config.value", 18, "/pt2/compile/backend"),
    ]
    assert all(f.location.member == "model-config.yaml" for f in result.findings)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            b"",
            "config.not-mapping",
            "model-config.yaml is empty, not a mapping (TorchServe refuses to register the model).",
        ),
        (
            b"42\n",
            "config.not-mapping",
            "model-config.yaml is a int, not a mapping (TorchServe refuses to register the model).",
        ),
        (b"a: 1\n---\nb: 2\n", "config.invalid-yaml", None),
        (
            b"handler: profile\n",
            "config.breaks-load",
            "/handler: 'profile' is not of type 'object'.",
        ),
        (b"x: !!python/object:os.system {}\n", "config.invalid-yaml", None),
        (
            b"\xff\xfe",
            "config.invalid-yaml",
            "model-config.yaml is not UTF-8 text (invalid start byte).",
        ),
    ],
)
def test_config_that_breaks_registration(
    text: bytes, code: str, message: str | None, tmp_path: Path, weights: bytes
) -> None:
    result = archive(tmp_path, weights, model_config_yaml=text)
    assert [f.code for f in result.findings] == [code]
    if message is not None:
        assert result.findings[0].message == message


def test_alias_bombs_and_recursive_documents_are_refused(tmp_path: Path, weights: bytes) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 20)]
    bomb = archive(tmp_path, weights, model_config_yaml="\n".join(lines).encode())
    assert [f.code for f in bomb.findings] == ["config.invalid-yaml"]
    assert "aliases of collections" in bomb.findings[0].message
    loop = archive(tmp_path, weights, model_config_yaml=b"handler: &h\n  self: *h\n")
    assert [f.message for f in loop.findings] == [
        "model-config.yaml is not valid YAML: a node contains itself through an alias."
    ]


def test_parallel_type_without_level_has_no_effect(tmp_path: Path, weights: bytes) -> None:
    result = archive(tmp_path, weights, model_config_yaml=b"parallelType: pp\n")
    assert rows(result) == [
        (
            "config.value",
            "model-config.yaml",
            1,
            "/parallelType",
            "parallelType has no effect without parallelLevel > 0.",
        )
    ]
    fine = archive(tmp_path, weights, model_config_yaml=b"parallelType: tp\nparallelLevel: 2\n")
    assert fine.findings == ()


# --- requirements -----------------------------------------------------------------------
def test_requirements_lines(tmp_path: Path, weights: bytes) -> None:
    text = (
        b"# pinned deps\n"
        b"numpy>=1.20 ; python_version >= '3.8'\n"
        b"requests[socks]==2.31 --hash=sha256:abcd\n"
        b"--extra-index-url https://example.org/simple\n"
        b"./wheels/mine-1.0-py3-none-any.whl\n"
        b"-e ./src\n"
        b"--frobnicate\n"
        b"torch @ https://download.pytorch.org/torch.whl\n"
        b"pillow<<3\n"
        b"-r nested.txt\n"
    )
    result = archive(tmp_path, weights, requirements_txt=text, **{"nested.txt": b"torchaudio\n"})
    assert [(f.code, f.location.member, f.location.line) for f in result.findings] == [
        ("requirements.index-option", "requirements.txt", 4),
        ("requirements.missing-file", "requirements.txt", 5),
        ("requirements.missing-file", "requirements.txt", 6),
        ("requirements.syntax", "requirements.txt", 7),
        ("requirements.syntax", "requirements.txt", 9),
        ("requirements.torch", "nested.txt", 1),
        ("requirements.torch", "requirements.txt", 8),
    ]


def test_url_requirement_lines_are_not_pep_508(tmp_path: Path, weights: bytes) -> None:
    text = (
        b"git+https://github.com/pytorch/serve.git@v0.12.0#egg=torchserve\n"
        b"https://example.org/wheels/pkg-1.0-py3-none-any.whl\n"
        b"pyyaml @ https://example.org/pyyaml-6.0-py3-none-any.whl\n"
    )
    assert archive(tmp_path, weights, requirements_txt=text).findings == ()


def test_constraints_on_torch_install_nothing(tmp_path: Path, weights: bytes) -> None:
    result = archive(
        tmp_path,
        weights,
        requirements_txt=b"-c constraints.txt\npyyaml\n",
        **{"constraints.txt": b"torch==2.4.0\n"},
    )
    assert result.findings == ()


def test_nested_requirement_files_get_every_line_check(tmp_path: Path, weights: bytes) -> None:
    nested = b"--frobnicate\ntorch @ https://download.pytorch.org/torch.whl\nnumpy >>= 1\n"
    result = archive(
        tmp_path, weights, requirements_txt=b"-r nested.txt\n", **{"nested.txt": nested}
    )
    assert [(f.code, f.location.member, f.location.line) for f in result.findings] == [
        ("requirements.syntax", "nested.txt", 1),
        ("requirements.syntax", "nested.txt", 3),
        ("requirements.torch", "nested.txt", 2),
    ]


def test_requirements_never_read_files_outside_the_archive(tmp_path: Path, weights: bytes) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password = hunter2\n")
    text = f"-r {secret}\n-f /opt/wheels\n".encode()
    result = archive(tmp_path, weights, requirements_txt=text)
    # Reported as outside the archive, never read (its lines would end up in the report).
    assert [(f.code, f.location.line) for f in result.findings] == [
        ("requirements.outside-path", 1),
        ("requirements.outside-path", 2),
    ]
    assert "hunter2" not in str(result)


def test_requirements_must_be_utf8(tmp_path: Path, weights: bytes) -> None:
    result = archive(tmp_path, weights, requirements_txt=b"caf\xe9\n")
    assert [f.code for f in result.findings] == ["requirements.syntax"]


def test_manifest_json_is_read_as_json_not_yaml(tmp_path: Path, weights: bytes) -> None:
    data = json.loads(manifest())
    data["model"]["modelVersion"] = "1.0"
    text = json.dumps(data, separators=(",", ":")).encode()  # one line, no spaces
    assert archive(tmp_path, weights, manifest=text).findings == ()
