"""Scan serialized files (``.pt``, ``.pth``, ``.bin``, ``.pkl``...) for unsafe pickles.

A file is recognised by its first bytes, not its name, in the order ``torch.load`` tries
them: a zip (torch's format; every ``*.pkl`` entry inside is scanned), a tar archive
(torch's legacy tar format), a binary pickle (``PROTO`` opcode; torch's legacy format is
several pickles in a row), or a pickle of protocol 0 or 1 (no ``PROTO``; a
``.pkl``/``.pickle`` file must be one, any other serialized file counts as one only when
it parses to its end, since raw tensors and engines can start with any byte). Anything
else (raw tensors, ONNX, TensorRT engines) is not a pickle and is left alone. Nothing is
ever unpickled.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import IO, Final

from mar_tools.core.archive import READ_ERRORS
from mar_tools.core.sizes import human_size
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.pickle.assessment import PickleScan, Problem
from mar_tools.validate.pickle.legacy_tar import scan_legacy_tar
from mar_tools.validate.pickle.ops import scan_pickles
from mar_tools.validate.pickle.policy import Trust
from mar_tools.validate.pickle.sniffing import (
    BLOCK,
    TEXT_PICKLE_SUFFIXES,
    ZIP_HEADS,
    Sniffed,
    binary_pickle,
    sniff,
    with_head,
)
from mar_tools.validate.pickle.torch_zip import (
    CAPTURE_LIMIT,
    InnerPickle,
    InnerZipError,
    is_torchscript,
    pickles_in_chunks,
    pickles_in_seekable,
    pickles_in_stream,
)

#: How many non-weights globals one finding lists.
LISTED = 5
#: Most bytes read from a serialized file that may be a protocol 0/1 pickle (real ones
#: are small; other data would be read to its end by a random "length").
UNCERTAIN_SCAN_LIMIT = 16 << 20
#: Warnings about what torch.load(weights_only=True) refuses (not passed up from nested files).
WEIGHTS_CODES: Final = frozenset({"pickle.non-weights-global", "pickle.non-weights-format"})


def scan_member(
    name: str,
    stream: IO[bytes],
    *,
    seekable: bool,
    disguised: bool = False,
    trust: Trust | None = None,
) -> list[Finding]:
    """Findings for the serialized file *name* read from *stream*.

    *seekable* says whether *stream* supports cheap random access (then a zip's index is
    read directly instead of streaming the whole file); a non-seekable one must be an
    :class:`io.BufferedReader`. *disguised* marks a file whose name does not say it is
    serialized: it counts only when it really is a pickle (a binary one that parses to its
    end), a zip holding pickles or a tar archive, and damage is not reported. *trust* says
    which classes the archive defines itself.
    """
    chosen = replace(trust or Trust(), nested=_nested)
    head, stream = _head(stream, BLOCK, seekable)
    kind = sniff(head, "" if disguised else name)
    problems = list(_problems(name, stream, head, kind, seekable, disguised, chosen))
    if disguised:
        problems = [p for p in problems if p.code != "pickle.malformed"]
    return [finding(p.code, f"{name} {p.message}", name) for p in problems]


def _problems(
    name: str,
    stream: IO[bytes],
    head: bytes,
    kind: Sniffed | None,
    seekable: bool,
    disguised: bool,
    trust: Trust,
) -> Iterator[Problem]:
    if kind == "tar":
        if binary_pickle(head):
            yield Problem(
                "pickle.unscannable",
                "is both a tar archive (what torch.load reads) and a pickle (what pickle.load "
                "reads); only its tar members were scanned.",
            )
        yield from _tar_problems(stream, trust)
    elif kind in ("pickle", "text-pickle"):
        # Must it be a pickle? Else it counts only when it parses to its end.
        certain = not disguised and (
            kind == "pickle" or name.lower().endswith(TEXT_PICKLE_SUFFIXES)
        )
        bound = UNCERTAIN_SCAN_LIMIT if kind == "text-pickle" and not certain else None
        try:
            scan = scan_pickles(stream, bound, trust)
        except READ_ERRORS as exc:
            if certain:
                yield Problem("pickle.malformed", f"cannot be read ({exc}).")
            return
        # Data that merely starts like a pickle is left alone, unless what was parsed before
        # the error already calls a refused global (a loader would run it, then fail).
        if certain or scan.error is None or scan.calls_refused:
            yield from _judged(scan, None, torch_load=scan.legacy)
    elif kind == "zip":
        yield from _zip_problems(stream, seekable, trust)


def scan_zip_chunks(
    name: str, chunks: Iterable[bytes | memoryview], *, trust: Trust | None = None
) -> list[Finding]:
    """:func:`scan_member` of the serialized file *name* whose first bytes say it is a zip
    (:func:`sniff`), its bytes given as *chunks* (each valid once given): the same findings,
    without the copies of a stream."""
    chosen = replace(trust or Trust(), nested=_nested)
    try:
        found = pickles_in_chunks(chunks)
    except InnerZipError as exc:
        problems = [_unreadable_zip(exc)]
    else:
        problems = list(_inner_problems(*found, chosen))
    return [finding(p.code, f"{name} {p.message}", name) for p in problems]


def _zip_problems(stream: IO[bytes], seekable: bool, trust: Trust) -> Iterator[Problem]:
    try:
        names, inner = pickles_in_seekable(stream) if seekable else pickles_in_stream(stream)
    except InnerZipError as exc:
        yield _unreadable_zip(exc)
        return
    yield from _inner_problems(names, inner, trust)


def _unreadable_zip(exc: InnerZipError) -> Problem:
    return Problem("pickle.malformed", f"is not a readable zip file ({exc}).")


def _inner_problems(
    names: list[str], inner: Iterator[InnerPickle], trust: Trust
) -> Iterator[Problem]:
    torchscript = is_torchscript(names)
    entry_trust = replace(trust, torchscript=torchscript)
    for entry in inner:
        # torch's own zip reader may read what zipfile refuses (an encryption flag, a bad
        # CRC): an unreadable pickle entry is not vouched for, even in a disguised file.
        if entry.stream is None:
            yield Problem("pickle.unscannable", f"({entry.name}) cannot be read ({entry.problem}).")
            continue
        try:
            scan = scan_pickles(entry.stream, None, entry_trust)
        except READ_ERRORS as exc:
            yield Problem("pickle.unscannable", f"({entry.name}) cannot be read ({exc}).")
            continue
        if entry.partial:
            scan.error = None
            yield Problem(
                "pickle.unscannable",
                f"({entry.name}) is larger than {human_size(CAPTURE_LIMIT)} inside a compressed "
                "entry; only its start was scanned.",
            )
        data_pkl = entry.name.lower().partition("/")[2] == "data.pkl"
        yield from _judged(scan, entry.name, torch_load=data_pkl and not torchscript)


def _tar_problems(stream: IO[bytes], trust: Trust) -> Iterator[Problem]:
    result = scan_legacy_tar(stream, trust)
    yield from result.problems
    judged = [p for member, scan in result.scans for p in _judged(scan, member, torch_load=False)]
    yield from judged
    if result.scans and not judged and not result.problems:
        yield Problem(
            "pickle.non-weights-format",
            "is in torch's legacy tar format, which torch.load(weights_only=True) refuses.",
        )


def _judged(scan: PickleScan, inner: str | None, *, torch_load: bool) -> Iterator[Problem]:
    """The problems of one scan; with *torch_load*, also what a weights-only load refuses."""
    at = f"({inner}) " if inner else ""
    found = [Problem(p.code, at + p.message) for p in scan.problems]
    for reason, offset in scan.hidden:
        found.append(
            Problem(
                "pickle.unverifiable-global",
                f"{at}hides an import: {reason} (pickle byte {offset}).",
            )
        )
    if scan.error and any(_inline_arrays(ref.module, ref.name) for ref in scan.globals):
        found.append(
            Problem(
                "pickle.unscannable",
                f"{at}holds arrays written by joblib as raw bytes inside the pickle stream; "
                "only the part before the first array was scanned.",
            )
        )
    elif scan.error:
        found.append(Problem("pickle.malformed", f"{at}is not a valid pickle: {scan.error}."))
    yield from found
    if found or not torch_load:
        return
    if scan.non_weights:
        more = len(scan.non_weights) - LISTED
        listed = ", ".join(scan.non_weights[:LISTED]) + (f" and {more} more" if more > 0 else "")
        yield Problem(
            "pickle.non-weights-global",
            f"{at}needs globals that torch.load(weights_only=True) refuses: {listed}.",
        )
    refused = scan.refused_opcodes()
    if refused:
        yield Problem(
            "pickle.non-weights-format",
            f"{at}uses opcodes that torch.load(weights_only=True) does not implement: "
            f"{', '.join(refused)} (it was saved with a pickle protocol other than 2).",
        )


def _nested(data: bytes, trust: Trust) -> list[tuple[str, str]]:
    """Problems of the torch file *data* that a pickle loads from its own bytes (torch.load
    of a BytesIO: a zip, or else pickles; never a tar)."""
    stream = io.BytesIO(data)
    kind: Sniffed = "zip" if data.startswith(ZIP_HEADS) else "pickle"
    found = _problems("", stream, b"", kind, True, False, trust)
    return [(p.code, p.message) for p in found if p.code not in WEIGHTS_CODES]


def _head(stream: IO[bytes], count: int, seekable: bool) -> tuple[bytes, IO[bytes]]:
    """Up to *count* first bytes of *stream*, and a stream that still starts with them."""
    if seekable:
        head = stream.read(count)
        stream.seek(0)
        return head, stream
    if not isinstance(stream, io.BufferedReader):
        raise TypeError("a non-seekable stream must be an io.BufferedReader")
    head = stream.read(count)
    return head, with_head(head, stream)


def _inline_arrays(module: str, name: str) -> bool:
    """True for joblib's array wrapper, whose unpickler reads raw array bytes from the
    stream (so the opcodes after it cannot be followed)."""
    return name == "NumpyArrayWrapper" and module.endswith("joblib.numpy_pickle")
