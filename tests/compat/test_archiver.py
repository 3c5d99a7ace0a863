"""Our archiver against upstream ``torch-model-archiver`` 0.12.0, on every model and format.

Same arguments, same model name: the archives must hold the same member names with the
same bytes, and manifests that differ only in ``createdOn`` and ``archiverVersion``.
Member order and compression may differ (ours sorts and picks STORE/DEFLATE per entry),
except that the manifest is the last member, as upstream writes it.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from tests.compat.archives import (
    FORMATS,
    MANIFEST,
    Builds,
    Format,
    archive_of,
    member_order,
    read_members,
)
from tests.compat.catalog import EXAMPLES, all_models

pytestmark = pytest.mark.compat

CASES = [
    pytest.param(spec.name, fmt, id=f"{spec.name}-{fmt}")
    for spec in all_models()
    for fmt in FORMATS
]
#: Manifest values that legitimately differ between two builds (time, tool version).
VOLATILE = ("createdOn", "archiverVersion")
_VOLATILE_VALUE = re.compile(rb'("(?:createdOn|archiverVersion)": )"[^"]*"')


def _without_volatile(manifest: bytes) -> bytes:
    return _VOLATILE_VALUE.sub(rb'\1"*"', manifest)


@pytest.mark.parametrize(("model", "fmt"), CASES)
def test_same_members_and_bytes(
    model: str, fmt: Format, upstream_builds: Builds, our_builds: Builds
) -> None:
    upstream = read_members(archive_of(upstream_builds, model, fmt))
    ours = read_members(archive_of(our_builds, model, fmt))
    assert sorted(ours) == sorted(upstream)
    differing = [
        name for name in sorted(upstream) if name != MANIFEST and ours[name] != upstream[name]
    ]
    assert differing == []


@pytest.mark.parametrize(("model", "fmt"), CASES)
def test_same_manifest(
    model: str, fmt: Format, upstream_builds: Builds, our_builds: Builds
) -> None:
    upstream = read_members(archive_of(upstream_builds, model, fmt))[MANIFEST]
    ours = read_members(archive_of(our_builds, model, fmt))[MANIFEST]
    theirs_fields = {k: v for k, v in json.loads(upstream).items() if k not in VOLATILE}
    our_fields = {k: v for k, v in json.loads(ours).items() if k not in VOLATILE}
    assert our_fields == theirs_fields
    # Field order, indentation and the missing trailing newline are part of the contract.
    assert _without_volatile(ours) == _without_volatile(upstream)
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", json.loads(ours)["createdOn"])


@pytest.mark.parametrize(("model", "fmt"), [c for c in CASES if c.values[1] != "no-archive"])
def test_manifest_is_the_last_member(model: str, fmt: Format, our_builds: Builds) -> None:
    order = member_order(archive_of(our_builds, model, fmt))
    assert order[-1] == MANIFEST
    assert not [name for name in order if name.endswith("/")], "directory entries"


@pytest.mark.parametrize("model", [spec.name for spec in all_models()])
def test_zip_store_stores_every_member(model: str, our_builds: Builds) -> None:
    archive = archive_of(our_builds, model, "zip-store")
    with zipfile.ZipFile(archive.path) as bundle:
        methods = {info.filename: info.compress_type for info in bundle.infolist()}
    assert set(methods.values()) == {zipfile.ZIP_STORED}, methods


def test_every_example_is_in_the_suite() -> None:
    examples = (
        sorted(
            path.name
            for path in EXAMPLES.iterdir()
            if path.is_dir() and not path.name.startswith((".", "_")) and path.name != "build"
        )
        if EXAMPLES.is_dir()
        else []
    )
    covered = {spec.source.name for spec in all_models() if spec.source.parent == EXAMPLES}
    assert [name for name in examples if name not in covered] == []
