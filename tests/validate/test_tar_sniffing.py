"""``is_tar`` looks at a checksum field before it imports :mod:`tarfile`; the cheap test
never turns away a header that tarfile itself accepts."""

from __future__ import annotations

import io
import os
import random
import tarfile

import pytest

from mar_tools.validate.pickle.sniffing import BLOCK, is_tar


def _header(fmt: int, size: int = 10, name: str = "storages") -> bytes:
    """The first block of a real tar archive written by :mod:`tarfile` in format *fmt*."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        info = tarfile.TarInfo(name)
        info.size = size
        archive.addfile(info, io.BytesIO(b"x" * size))
    return out.getvalue()[:BLOCK]


def _accepted_by_tarfile(block: bytes) -> bool:
    try:
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeError, OverflowError):
        return False
    return True


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_headers_that_tarfile_writes_are_tar(fmt: int) -> None:
    assert is_tar(_header(fmt))


def test_text_and_zeros_are_not_tar() -> None:
    text = b"def handle(data, context):\n    return data\n# " + b"x" * 600
    assert not is_tar(text)
    assert not is_tar(bytes(BLOCK))
    assert not is_tar(_header(tarfile.USTAR_FORMAT)[:-1])  # not a whole block


@pytest.mark.parametrize("seed", range(4))
def test_the_checksum_test_agrees_with_tarfile(seed: int) -> None:
    """Checksum fields of every kind tarfile reads (octal with spaces, signs, underscores,
    an ``0o`` prefix, base-256), right and wrong: is_tar says what tarfile says."""
    chooser = random.Random(seed)
    header = bytearray(_header(tarfile.GNU_FORMAT))
    unsigned = 256 + sum(header[:148]) + sum(header[156:])
    spellings = [
        f"{unsigned:06o}\0 ", f" {unsigned:o}\0", f"+{unsigned:o}", f"0o{unsigned:o}",
        f"{unsigned:o}"[:2] + "_" + f"{unsigned:o}"[2:], f"{unsigned + 1:07o}\0",
    ]  # fmt: skip
    fields = [s.encode().ljust(8, b"\0")[:8] for s in spellings]
    fields.append(b"\x80" + unsigned.to_bytes(7, "big"))
    fields += [os.urandom(8) for _ in range(50)]
    fields += [bytes(chooser.choice(b"01234567 \0+-_oxa\n") for _ in range(8)) for _ in range(200)]
    for field in fields:
        header[148:156] = field
        block = bytes(header)
        assert is_tar(block) == _accepted_by_tarfile(block), field
