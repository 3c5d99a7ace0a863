"""A writer to kill: a real process holding a staged temporary, for the tests of leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

#: A child that stages *target* under the lock, writes half of it, says where (nothing for
#: an unnamed file), then waits. Kind ``named-file`` stages a file as systems without
#: ``O_TMPFILE`` do: under a locked temporary name.
HALF_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mar_tools.core import staging

    if sys.argv[2] == "named-file":
        staging.create_unnamed = lambda directory: None
    with staging.Staged(Path(sys.argv[1]), is_dir=sys.argv[2] == "dir") as staged:
        if staged.is_dir:
            (staged.path / "half").write_bytes(b"half")
        else:
            with staged.open() as handle:
                handle.write(b"half")
        print("" if staged.unnamed else staged.path, flush=True)
        time.sleep(120)
    """
)


def start_half_writer(
    target: Path, kind: str = "file"
) -> tuple[subprocess.Popen[str], Path | None]:
    """Start a :data:`HALF_WRITER` of *target* (``file``, ``named-file`` or ``dir``); return
    it and its temporary (None: an unnamed file), once that exists and is locked."""
    child = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITER, str(target), kind],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    return child, Path(line) if line else None


def kill(child: subprocess.Popen[str]) -> None:
    """``kill -9`` *child*, as a crash or the OOM killer would, and reap it."""
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.stdout is not None
    child.stdout.close()
