"""How a global is judged: the allowlist, the archive's own classes, and what a refused
global is known to reach.

The verdict only depends on the allowlist (:mod:`mar_tools.validate.pickle.allowlist`):
a global it does not list is refused. The denylist here only names what a refused global
reaches, for the message: any component of a dotted name counts (``torch.os.system`` and
``pathlib.os.system`` reach ``os.system``), not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mar_tools.validate.pickle.allowlist import (
    ALLOWED,
    CALL,
    NONE,
    TORCHSCRIPT_ALLOWED,
    TORCHSCRIPT_PREFIX,
    Use,
)

#: The module renames torch.load applies before importing (torch.serialization).
TORCH_MODULE_MAPPING: Final = {"torch.tensor": "torch._tensor"}

#: Modules (and submodules) whose names run commands or code, or touch files or the network.
DANGEROUS_MODULES: Final = frozenset(
    {
        "os", "posix", "nt", "subprocess", "pty", "sys", "socket", "shutil", "runpy",
        "importlib", "imp", "code", "codeop", "pdb", "bdb", "timeit", "webbrowser", "ctypes",
        "multiprocessing", "asyncio", "signal", "pickle", "_pickle", "dill", "cloudpickle",
        "marshal", "http", "urllib", "ftplib", "smtplib", "telnetlib", "xmlrpc", "ssl",
        "requests", "setuptools", "pip", "distutils", "_posixsubprocess", "_io", "io",
        "tempfile", "glob", "zipimport", "pkgutil", "site", "sysconfig", "platform",
        "pydoc", "cProfile", "profile", "_osx_support", "imaplib", "poplib", "nntplib",
        "trace", "doctest", "idlelib", "lib2to3", "ensurepip", "venv", "zipapp", "shelve",
        "dbm", "uuid", "cgi", "cgitb", "_winapi", "msvcrt", "winreg", "numpy.f2py",
        "numpy.distutils", "numpy.ctypeslib", "torch.utils.collect_env", "torch.fx",
        "torch.jit.unsupported_tensor_ops", "torch._inductor", "torch._dynamo", "torch.hub",
        "torch.utils.bottleneck", "torch.utils.cpp_extension", "torch.distributed",
    }
)  # fmt: skip

#: Code-running names in otherwise harmless modules.
DANGEROUS_NAMES: Final = frozenset(
    {
        "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
        "builtins.open", "builtins.getattr", "builtins.setattr", "builtins.delattr",
        "builtins.globals", "builtins.locals", "builtins.vars", "builtins.input",
        "builtins.breakpoint", "builtins.execfile", "builtins.apply", "builtins.file",
        "builtins.reload", "builtins.__builtins__",
        "operator.attrgetter", "operator.methodcaller", "_operator.attrgetter",
        "_operator.methodcaller", "types.CodeType", "types.FunctionType",
        "types.MethodType", "functools.partial", "functools.reduce",
        "torch.load", "torch.serialization.load", "torch.jit.load", "torch.package",
        "numpy.testing._private.utils.runstring", "numpy.load",
    }
)  # fmt: skip


def _no_class(_module: str, _name: str) -> bool:
    return False


@dataclass(frozen=True)
class Trust:
    """What a scan may accept beyond the allowlist.

    *archive_class* says whether ``module.name`` is a class that the archive's own Python
    files define (a pickled model rebuilding itself); *torchscript* that the pickle belongs
    to a TorchScript file (read by torch's C++ unpickler); *nested* scans a torch file that
    the pickle loads from its own bytes (``torch.storage._load_from_bytes``) at *depth* + 1
    and returns ``(code, message)`` problems.
    """

    archive_class: Callable[[str, str], bool] = _no_class
    torchscript: bool = False
    nested: Callable[[bytes, Trust], list[tuple[str, str]]] | None = None
    depth: int = 0


def uses_of(module: str, name: str, trust: Trust) -> frozenset[Use]:
    """How the global ``module.name`` may be used (empty: not at all)."""
    module = TORCH_MODULE_MAPPING.get(module, module)
    uses = ALLOWED.get((module, name))
    if uses:
        return uses
    if trust.torchscript:
        if module == TORCHSCRIPT_PREFIX or module.startswith(TORCHSCRIPT_PREFIX + "."):
            return CALL
        uses = TORCHSCRIPT_ALLOWED.get((module, name))
        if uses:
            return uses
    if name.isidentifier() and trust.archive_class(module, name):
        return CALL
    return NONE


def reaches(module: str, name: str) -> str | None:
    """The known code-running name that ``module.name`` is or reaches through attributes,
    or None."""
    parts = f"{module}.{name}".split(".")
    for start in range(len(parts)):
        tail = ".".join(parts[start:])
        for end in range(start + 1, len(parts) + 1):
            if ".".join(parts[start:end]) in DANGEROUS_MODULES:
                return tail
        if any(tail == item or tail.startswith(item + ".") for item in DANGEROUS_NAMES):
            return tail
    return None
