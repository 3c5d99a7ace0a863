"""Writing a whole file so that readers see the old content or the new, never a part.

:func:`write_atomically` is the one way mar-tools writes a file that others may read at the
same time: ``--output`` reports, the extraction cache's index, an environment's record. It
stages the bytes in a locked temporary beside the target (:mod:`mar_tools.core.staging`)
and renames it over the target, so a writer killed half-way leaves the target as it was and
a leftover that the next write of that target deletes.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mar_tools.core.staging import MAR_TEMPS, Staged, TempNames

#: Where paths name streams, never files to replace by a rename.
_STREAM_DIRECTORIES = ("/dev/", "/proc/")


def write_atomically(
    path: Path, data: bytes, *, durable: bool = True, names: TempNames = MAR_TEMPS
) -> None:
    """Replace (or create) the file *path* with *data* in one step.

    An existing file keeps its permission bits; a new one gets ``0o666`` less the umask. A
    symbolic link stays a link: the file it points to is replaced. A stream is appended to
    in place, as there is no file to replace: a device, a FIFO, or any path under ``/dev``
    or ``/proc`` (``/dev/stdout`` may lead to the file a shell redirects to, which is then
    not replaced or cut, even after ``>>``). With *durable* the bytes reach the disk before
    the rename, so after a power loss the file holds the old content or the new, never an
    empty file; caches whose content is checked when read pass False and save the
    ``fsync``.

    Raises ``OSError`` and leaves *path* as it was: ``FileNotFoundError`` when its directory
    does not exist, ``IsADirectoryError`` when it is a directory, ``PermissionError``...
    """
    try:
        info: os.stat_result | None = path.stat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if (info is not None and not stat.S_ISREG(info.st_mode)) or _names_a_stream(path):
        with open(path, "ab") as stream:
            stream.write(data)
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    with Staged(target, is_dir=False, names=names) as staged, staged.open() as handle:
        handle.write(data)
        handle.flush()
        if info is not None:
            os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
        if durable:
            os.fsync(handle.fileno())
        staged.publish(replace=True)


def _names_a_stream(path: Path) -> bool:
    """True for the paths of the system's streams (``/dev/stdout``, ``/proc/self/fd/1``)."""
    return str(path.absolute()).startswith(_STREAM_DIRECTORIES)
