"""The pickle opcode table, now in the core (:mod:`mar_tools.core.pickle.opcodes`); kept
here under its old name for the scanner's modules."""

from mar_tools.core.pickle.opcodes import OPS, ArgKind, Op

__all__ = ["OPS", "ArgKind", "Op"]
