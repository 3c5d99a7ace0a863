"""The command's name and the values of its choice options, spelled without click.

The click command (:mod:`.command`), its kept help text and the click-free parser of the
common command lines (:mod:`.argv`) all read them here, so that neither ``--help`` nor a
build parsed without click imports the library's enums or click.
"""

from __future__ import annotations

from typing import Final

PROG: Final = "torch-model-archiver"
#: The values of ``spec.ArchiveFormat`` (in upstream's order) and ``spec.ExtraFilesLayout``
#: (a test keeps them equal).
FORMATS: Final = ("tgz", "no-archive", "zip-store", "default")
LAYOUTS: Final = ("flat", "relative")
