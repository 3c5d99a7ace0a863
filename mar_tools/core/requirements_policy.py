"""What an archive's requirements may ask of the machine that installs them.

An archive is someone else's code; its requirements file is run by pip (or uv) on the
user's machine, with the user's environment and network. So, whatever pip would accept:

* **The user chooses where packages come from.** ``--index-url``, ``--extra-index-url``,
  ``--trusted-host`` and ``--find-links`` with a URL in an archive's requirements (nested
  files included) would send the install, and any credentials the user's pip configuration
  attaches, to a server the archive picked. ``mar validate`` reports them
  (``requirements.index-option``); ``mar run`` and ``mar env create`` refuse them unless
  given ``--allow-requirements-options``. The user's own ``--index-url``/``--find-links``
  stay the way to choose an index.
* **No environment variables.** pip expands ``${VAR}`` in requirements files from the
  installing environment, so ``--index-url https://host/${TOKEN}/simple`` leaks a secret
  into a URL. mar never expands them and refuses an archive whose requirements contain one
  (``requirements.env-var``), with or without ``--allow-requirements-options``.
* **Only the archive's own files.** ``-r``, ``-c``, ``-e``, ``--find-links`` and local
  package paths count only inside the model: an absolute path or one climbing out with
  ``..`` would make pip read (and mar hash, for the environment key) whatever the
  installing machine has there (``-f /usr`` walks the whole tree). They are reported
  (``requirements.outside-path``) and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mar_tools.core.errors import ArchiveError
from mar_tools.core.requirements import RequirementsSet

INDEX_OPTION: Final = "requirements.index-option"
ENV_VAR: Final = "requirements.env-var"
OUTSIDE_PATH: Final = "requirements.outside-path"
ALLOW_FLAG: Final = "--allow-requirements-options"


@dataclass(frozen=True)
class Violation:
    """One thing the requirements ask that the policy does not allow: its ``mar validate``
    code, a message, and where it is written."""

    code: str
    message: str
    file: str
    line: int

    @property
    def origin(self) -> str:
        return f"{self.file} line {self.line}" if self.line else self.file


def violations(requirements: RequirementsSet) -> list[Violation]:
    """Every violation in *requirements* (nested files included), in the order written."""
    found: list[Violation] = []
    for option in requirements.options:
        found.append(
            Violation(
                INDEX_OPTION,
                f"{option.option} {option.value} chooses where packages are installed from.",
                option.file,
                option.line,
            )
        )
    for variable in requirements.variables:
        found.append(
            Violation(
                ENV_VAR,
                f"{variable.name} would be expanded by pip from the installing machine's "
                "environment.",
                variable.file,
                variable.line,
            )
        )
    for reference in requirements.references:
        if reference.outside:
            found.append(
                Violation(
                    OUTSIDE_PATH,
                    f"{reference.name!r} is outside the model; only the archive's own files "
                    "can be referred to.",
                    reference.file,
                    reference.line,
                )
            )
    return sorted(found, key=lambda item: (item.file != requirements.root, item.file, item.line))


def enforce(requirements: RequirementsSet, *, allow_options: bool, where: str) -> None:
    """Raise :class:`ArchiveError` (exit 3) naming every violation of *requirements*, the
    requirements of archive *where*; with *allow_options*, index-changing options pass."""
    refused = [
        item
        for item in violations(requirements)
        if not (allow_options and item.code == INDEX_OPTION)
    ]
    if not refused:
        return
    shown = "; ".join(f"{item.origin}: {item.message.rstrip('.')}" for item in refused[:5])
    more = f"; and {len(refused) - 5} more" if len(refused) > 5 else ""
    hints = []
    if any(item.code == INDEX_OPTION for item in refused):
        hints.append(
            f"pass {ALLOW_FLAG} if you trust the archive to choose its package index, or "
            "choose one yourself with --index-url/--extra-index-url/--find-links"
        )
    if any(item.code == ENV_VAR for item in refused):
        hints.append("mar never expands environment variables in an archive's requirements")
    if any(item.code == OUTSIDE_PATH for item in refused):
        hints.append("ship the files inside the archive and refer to them by relative paths")
    raise ArchiveError(
        f"{where}: refusing to install the archive's requirements: {shown}{more}.",
        hint="; ".join(hints) + " (see docs/security.md).",
    )
