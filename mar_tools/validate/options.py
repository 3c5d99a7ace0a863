"""What a validation run should do: depth, limits and which codes to report."""

from __future__ import annotations

from mar_tools.core.limits import GiB, Limits, MiB
from mar_tools.core.record import field, record
from mar_tools.report.finding import code_matches

__all__ = ["GiB", "Limits", "MiB", "ValidateOptions"]


@record
class ValidateOptions:
    """Options of one run.

    ``quick`` checks metadata only: entry bytes are not read in full (no CRC), and serialized
    files are scanned only when that is cheap (``quick_scan_limit`` bytes or fewer to read).
    ``select``/``ignore`` are code prefixes; an empty ``select`` selects everything.
    """

    quick: bool = False
    limits: Limits = field(default_factory=Limits)
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    quick_scan_limit: int = 64 * MiB

    def wants(self, code: str) -> bool:
        """True when findings with *code* are reported."""
        if self.select and not code_matches(code, self.select):
            return False
        return not code_matches(code, self.ignore)
