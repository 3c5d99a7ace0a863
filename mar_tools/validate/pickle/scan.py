"""Scan serialized files (``.pt``, ``.pth``, ``.bin``, ``.pkl``...) for dangerous pickles.

A file is recognised by its first bytes, not its name: a zip (torch's format; every
``*.pkl`` entry inside is scanned), a binary pickle (``PROTO`` opcode; torch's legacy
format is several pickles in a row), or a pickle of protocol 0 or 1 (no ``PROTO``; a
``.pkl``/``.pickle`` file must be one, any other serialized file counts as one only when it
parses to its end, since raw tensors and engines can start with any byte). Anything else
(raw tensors, ONNX, TensorRT engines) is not a pickle and is left alone. Nothing is ever
unpickled.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Literal

from mar_tools.core.archive import READ_ERRORS, Member
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.pickle.opcodes import OPS
from mar_tools.validate.pickle.ops import PickleScan, scan_pickles
from mar_tools.validate.pickle.policy import canonical, classify
from mar_tools.validate.pickle.torch_zip import (
    InnerPickle,
    InnerZipError,
    is_torchscript,
    pickles_in_seekable,
    pickles_in_stream,
)

SERIALIZED_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".joblib", ".pt2")
TEXT_PICKLE_SUFFIXES = (".pkl", ".pickle")
ZIP_HEADS = (b"PK\x03\x04", b"PK\x05\x06")
#: How many non-weights globals one finding lists.
LISTED = 5
#: Most bytes read from a serialized file that may be a protocol 0/1 pickle (real ones
#: are small; other data would be read to its end by a random "length").
UNCERTAIN_SCAN_LIMIT = 16 << 20
Sniffed = Literal["zip", "pickle", "text-pickle"]


def is_candidate(member: Member, serialized_file: str | None) -> bool:
    """True for files worth scanning: known suffixes, and the manifest's serializedFile."""
    if member.kind != "file":
        return False
    return member.name.lower().endswith(SERIALIZED_SUFFIXES) or member.name == serialized_file


def sniff(head: bytes, name: str) -> Sniffed | None:
    """What a file's first bytes say it is, or None (nothing to scan).

    ``"text-pickle"`` (protocol 0 or 1, which have no ``PROTO``) is only considered for a
    named serialized file: pass ``name=""`` to look for zips and binary pickles only.
    """
    if head.startswith(ZIP_HEADS):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if name and head and head[0] in OPS:
        return "text-pickle"
    return None


def scan_member(
    name: str, stream: IO[bytes], *, seekable: bool, disguised: bool = False
) -> list[Finding]:
    """Findings for the serialized file *name* read from *stream*.

    *seekable* says whether *stream* supports cheap random access (then a zip's index is
    read directly instead of streaming the whole file). *disguised* marks a file whose name
    does not say it is serialized: it counts only when it really is a pickle (a binary one
    that parses to its end) or a zip holding pickles, and damage is not reported.
    """
    head = _peek(stream, 4, seekable)
    kind = sniff(head, "" if disguised else name)
    if kind in ("pickle", "text-pickle"):
        # Must it be a pickle? Else it counts only when it parses to its end.
        certain = not disguised and (
            kind == "pickle" or name.lower().endswith(TEXT_PICKLE_SUFFIXES)
        )
        bound = UNCERTAIN_SCAN_LIMIT if kind == "text-pickle" and not certain else None
        try:
            scan = scan_pickles(stream, bound)
        except READ_ERRORS as exc:
            if not certain:
                return []
            return [finding("pickle.malformed", f"{name} cannot be read ({exc}).", name)]
        if not certain and scan.error is not None:
            return []  # data that merely starts like a pickle
        return list(_verdicts(name, None, scan, torchscript=False))
    if kind != "zip":
        return []
    try:
        names, inner = pickles_in_seekable(stream) if seekable else pickles_in_stream(stream)
    except InnerZipError as exc:
        if disguised:
            return []
        return [finding("pickle.malformed", f"{name} is not a readable zip file ({exc}).", name)]
    found = _inner_findings(name, inner, is_torchscript(names))
    return [f for f in found if f.code != "pickle.malformed"] if disguised else found


def _inner_findings(name: str, inner: Iterator[InnerPickle], torchscript: bool) -> list[Finding]:
    found: list[Finding] = []
    for entry in inner:
        if entry.stream is None:
            found.append(
                finding(
                    "pickle.malformed",
                    f"{name}: {entry.name} cannot be read ({entry.problem}).",
                    name,
                )
            )
            continue
        try:
            scan = scan_pickles(entry.stream)
        except READ_ERRORS as exc:
            message = f"{name}: {entry.name} cannot be read ({exc})."
            found.append(finding("pickle.malformed", message, name))
            continue
        if entry.partial:
            scan.error = None
            found.append(
                finding(
                    "pickle.not-scanned",
                    f"{name}: only the start of {entry.name} was scanned (it is too large).",
                    name,
                )
            )
        found.extend(_verdicts(name, entry.name, scan, torchscript))
    return found


def _peek(stream: IO[bytes], count: int, seekable: bool) -> bytes:
    if seekable:
        head = stream.read(count)
        stream.seek(0)
        return head
    if isinstance(stream, io.BufferedReader):
        return stream.peek(count)[:count]
    raise TypeError("a non-seekable stream must be an io.BufferedReader")


def _verdicts(
    name: str, inner: str | None, scan: PickleScan, torchscript: bool
) -> Iterator[Finding]:
    where = f"{name} ({inner})" if inner else name
    reported: set[str] = set()
    others: list[str] = []
    for ref in scan.globals:
        full = canonical(ref.module, ref.name)
        if full in reported:
            continue
        reported.add(full)
        verdict = classify(ref.module, ref.name)
        if verdict == "dangerous":
            yield finding(
                "pickle.dangerous-global",
                f"{where} imports {full} (pickle byte {ref.offset}); loading it can run "
                "arbitrary code.",
                name,
            )
        elif verdict == "other" and not torchscript:
            others.append(full)
    for reason, offset in scan.hidden:
        yield finding(
            "pickle.unverifiable-global",
            f"{where} hides an import: {reason} (pickle byte {offset}).",
            name,
        )
    if others:
        more = len(others) - LISTED
        listed = ", ".join(others[:LISTED]) + (f" and {more} more" if more > 0 else "")
        yield finding(
            "pickle.non-weights-global",
            f"{where} needs globals that torch.load(weights_only=True) refuses: {listed}.",
            name,
        )
    if scan.error and any(_inline_arrays(ref.module, ref.name) for ref in scan.globals):
        yield finding(
            "pickle.not-scanned",
            f"{where}: joblib writes array bytes into the pickle stream; only the part "
            "before the first array was scanned.",
            name,
            hint="Load it only if you trust its source; a scanner cannot step over the arrays.",
        )
    elif scan.error:
        yield finding("pickle.malformed", f"{where} is not a valid pickle: {scan.error}.", name)


def _inline_arrays(module: str, name: str) -> bool:
    """True for joblib's array wrapper, whose unpickler reads raw array bytes from the
    stream (so the opcodes after it cannot be followed)."""
    return name == "NumpyArrayWrapper" and module.endswith("joblib.numpy_pickle")
