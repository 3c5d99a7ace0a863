"""What the click-free parsers of the common command lines share (issue 15: start-up).

``mar validate`` (:mod:`mar_tools.cli.validate_argv`) and ``torch-model-archiver``
(:mod:`torch_model_archiver.cli.argv`) read their everyday command lines by hand and leave
every other one to click. Both may be turned off with :data:`CLICK_ONLY_VAR`, and both stand
aside when an environment variable would change what click parses; both put the output
options into :mod:`.settings` in the order click's eager callbacks would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from mar_tools.terminal import settings

#: Set (not empty, not ``0``) to always parse with click.
CLICK_ONLY_VAR: Final = "MAR_CLICK_ONLY"


def allowed(environ: Mapping[str, str], click_vars: Iterable[str]) -> bool:
    """Whether a click-free parse may be tried: :data:`CLICK_ONLY_VAR` is not set, nor any of
    *click_vars* (the variables that change what click would parse: limits, completion)."""
    if environ.get(CLICK_ONLY_VAR, "") not in ("", "0"):
        return False
    return not any(name in environ for name in click_vars)


def apply_output_options(order: Sequence[str], colors: Sequence[str]) -> None:
    """``quiet``, ``verbose`` and ``color`` (the names in *order*, as met on the command line)
    into :mod:`.settings`, each once, in the order of its first appearance: click's order for
    eager options. The last of *colors* is ``--color``'s value."""
    for name in dict.fromkeys(order):
        if name == "color":
            settings.configure(color=colors[-1])  # type: ignore[arg-type]
        else:
            settings.configure(**{name: True})  # type: ignore[arg-type]
