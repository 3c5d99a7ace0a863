"""Renaming a finished environment: the absolute paths its text files hold must follow.

Installers write the environment's absolute path into console-script shebangs, activation
scripts and (virtualenv) the ``command`` line of ``pyvenv.cfg``. An environment is built
under a temporary name and renamed into place when complete, so those files are rewritten
to the final path just before the rename. The interpreter itself needs nothing: it finds
its prefix from ``pyvenv.cfg`` next to it, and Python corrects the file names recorded in
bytecode caches when it imports them.
"""

from __future__ import annotations

from pathlib import Path

#: Scripts are small text files; anything larger or binary is left alone.
MAX_SCRIPT_BYTES = 1 << 20


def relocate(build: Path, final: Path, scripts: Path) -> list[Path]:
    """Replace *build* by *final* in the text files of *scripts* and in ``pyvenv.cfg``;
    return the files changed."""
    candidates = sorted(scripts.iterdir()) if scripts.is_dir() else []
    candidates.append(build / "pyvenv.cfg")
    old, new = str(build).encode(), str(final).encode()
    changed: list[Path] = []
    for path in candidates:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SCRIPT_BYTES:
            continue
        content = path.read_bytes()
        if b"\0" in content[:1024] or old not in content:
            continue
        mode = path.stat().st_mode
        path.write_bytes(content.replace(old, new))
        path.chmod(mode)
        changed.append(path)
    return changed
