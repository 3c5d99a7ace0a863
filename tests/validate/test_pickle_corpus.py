"""The pickle scan against both corpora: every malicious pickle refused, every legitimate
checkpoint accepted (with exactly the warnings it deserves).

The malicious files are never loaded here; a throwaway interpreter proves that they run
their command (a marker file in tmp_path). The legitimate ones are also loaded with
``torch.load(weights_only=True)`` to check the weights-only warnings against torch itself.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from mar_tools.report.finding import Severity
from mar_tools.validate.pickle.scan import scan_member
from tests.validate.pickle_corpus import CORPUS, Payload
from tests.validate.pickle_legit import FORMAT, GLOBALS, MODEL_TRUST, Legit, model_module

#: Families the issue asks for, and the issue's own list of missed payloads.
FAMILIES = {"direct", "builtins", "issue", "dotted", "gadget", "allowed-callable", "memo",
            "protocol-0", "hidden", "tampering", "nested", "legacy"}  # fmt: skip
ISSUE_NAMES = {
    "torch-os-system", "pathlib-os-system", "collect-env-run", "pydoc-pipepager",
    "cprofile-run", "profile-run", "osx-support-read-output", "imaplib-imap4-stream",
    "fx-forward-from-src", "uuid-get-command-stdout",
}  # fmt: skip
NOWHERE = "/nonexistent/marker"


def test_the_malicious_corpus_is_large_and_covers_every_family() -> None:
    assert len(CORPUS) >= 60
    assert {payload.family for payload in CORPUS} == FAMILIES
    assert {payload.name for payload in CORPUS} >= ISSUE_NAMES
    assert len({payload.name for payload in CORPUS}) == len(CORPUS)
    assert sum(payload.proof for payload in CORPUS) >= 60


@pytest.mark.parametrize("payload", CORPUS, ids=[payload.name for payload in CORPUS])
def test_every_malicious_pickle_is_an_error(payload: Payload) -> None:
    data = payload.build(NOWHERE)
    name = f"x{payload.suffix}"
    found = scan_member(name, io.BytesIO(data), seekable=True)
    assert payload.code in {f.code for f in found}, [(f.code, f.message) for f in found]
    assert any(f.severity is Severity.ERROR for f in found)
    streamed = scan_member(name, io.BufferedReader(io.BytesIO(data)), seekable=False)
    assert streamed == found


RUNNER = r"""
import json, pickle, sys, warnings
warnings.simplefilter("ignore")
for path, loader in json.loads(sys.argv[1]):
    try:
        if loader == "torch":
            import torch
            torch.load(path, weights_only=False)
        else:
            with open(path, "rb") as f:
                pickle.load(f)
    except BaseException:
        pass
"""


@pytest.mark.slow
def test_the_malicious_pickles_really_run_their_command(tmp_path: Path) -> None:
    """Each proof payload, loaded in a throwaway interpreter, creates its marker file."""
    jobs: list[tuple[str, str]] = []
    for payload in CORPUS:
        path = tmp_path / f"{payload.name}{payload.suffix}"
        path.write_bytes(payload.build(str(tmp_path / f"marker-{payload.name}")))
        jobs.append((str(path), "torch" if payload.suffix == ".pt" else "pickle"))
    subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(jobs)],
        cwd=tmp_path,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    ran = {p.name for p in CORPUS if (tmp_path / f"marker-{p.name}").exists()}
    assert ran == {p.name for p in CORPUS if p.proof}


@pytest.mark.parametrize("index", range(32))
def test_every_legitimate_checkpoint_passes(index: int, legit: list[Legit]) -> None:
    item = legit[index]
    found = scan_member(item.name, io.BytesIO(item.data), seekable=True, trust=MODEL_TRUST)
    assert {f.code for f in found} == item.warnings, [(f.code, f.message) for f in found]
    assert all(f.severity is Severity.WARNING for f in found)
    streamed = io.BufferedReader(io.BytesIO(item.data))
    assert scan_member(item.name, streamed, seekable=False, trust=MODEL_TRUST) == found


def test_the_legitimate_corpus_is_complete(legit: list[Legit]) -> None:
    assert len(legit) == 32
    assert {item.name for item in legit} >= {
        "state-dict-p2.pt", "module.pt", "scripted.pt", "traced.pt", "state-dict-legacy.pt",
        "numpy.pt", "optimizer-adam.pt", "dtypes.pt", "sparse.pt", "quantized.pt",
        "state-dict-p5.pt", "legacy-tar.pt",
    }  # fmt: skip


def test_weights_only_warnings_agree_with_torch(legit: list[Legit], tmp_path: Path) -> None:
    """A torch.load-able checkpoint gets a weights-only warning exactly when
    torch.load(weights_only=True) refuses it (these files are ours: loading them is safe).
    TorchScript files are read by torch.jit.load, which has no weights-only mode."""
    import torch

    checked = 0
    with model_module(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item in legit:
            if not item.name.endswith(".pt"):
                continue
            path = tmp_path / item.name
            path.write_bytes(item.data)
            if item.name in ("scripted.pt", "traced.pt"):  # read by torch.jit.load
                torch.jit.load(path)  # type: ignore[no-untyped-call]
                continue
            try:
                torch.load(path, weights_only=True)
                refused = False
            except Exception:
                refused = True
            assert refused == bool(item.warnings & {GLOBALS, FORMAT}), item.name
            checked += 1
    assert checked >= 20
