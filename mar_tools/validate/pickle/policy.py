"""Which globals a pickle may import: dangerous, weights-only, or merely unusual.

* **dangerous**: importing it gives the pickle a way to run commands or code, touch files
  or the network (``os.system``, ``builtins.eval``, ``subprocess.Popen``...). An error.
* **weights**: what ``torch.load(weights_only=True)`` accepts (tensors, storages, dtypes,
  ``OrderedDict``...). Fine.
* anything else (a model class, ``numpy`` objects...): ``torch.load`` refuses it by default
  since torch 2.6, so a handler relying on BaseHandler cannot load it. A warning.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Verdict = Literal["dangerous", "weights", "other"]

#: Python 2 module names the unpickler maps to Python 3 ones (protocols 0-2).
PY2_MODULES: Final = {
    "__builtin__": "builtins",
    "exceptions": "builtins",
    "copy_reg": "copyreg",
    "cPickle": "pickle",
    "commands": "subprocess",
    "urllib2": "urllib.request",
    "httplib": "http.client",
}

#: Every name in these modules (and their submodules) is dangerous.
DANGEROUS_MODULES: Final = frozenset(
    {
        "os", "posix", "nt", "subprocess", "pty", "sys", "socket", "shutil", "runpy",
        "importlib", "imp", "code", "codeop", "pdb", "bdb", "timeit", "webbrowser", "ctypes",
        "multiprocessing", "asyncio", "signal", "pickle", "_pickle", "dill", "cloudpickle",
        "marshal", "http", "urllib", "ftplib", "smtplib", "telnetlib", "xmlrpc", "ssl",
        "requests", "setuptools", "pip", "distutils", "_posixsubprocess", "_io", "io",
        "tempfile", "glob", "zipimport", "pkgutil", "site", "sysconfig", "platform",
    }
)  # fmt: skip

#: Dangerous names in otherwise harmless modules.
DANGEROUS_NAMES: Final = frozenset(
    {
        "builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
        "builtins.open", "builtins.getattr", "builtins.setattr", "builtins.delattr",
        "builtins.globals", "builtins.locals", "builtins.vars", "builtins.input",
        "builtins.breakpoint", "builtins.execfile", "builtins.apply", "builtins.file",
        "builtins.reload",
        "operator.attrgetter", "operator.methodcaller", "_operator.attrgetter",
        "_operator.methodcaller", "types.CodeType", "types.FunctionType",
        "types.MethodType",
        "torch.hub.load", "torch.hub.load_state_dict_from_url", "torch.hub.download_url_to_file",
        "torch.load", "torch.serialization.load", "torch.jit.load",
        "torch.utils.cpp_extension.load", "torch.utils.cpp_extension.load_inline",
        "numpy.testing._private.utils.runstring", "numpy.load", "numpy.f2py",
        "numpy.distutils", "numpy.ctypeslib",
    }
)  # fmt: skip

#: What torch.load(weights_only=True) accepts, by full name.
WEIGHTS_NAMES: Final = frozenset(
    {
        "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
        "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
        "torch._tensor._rebuild_from_type_v2", "torch.storage.TypedStorage",
        "torch.storage.UntypedStorage", "torch.UntypedStorage", "torch.TypedStorage",
        "torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine",
        "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
    }
)  # fmt: skip
_DTYPE = re.compile(
    r"^(u?int\d*|float\d*(_\w+)?|bfloat16|half|double|float|short|int|long|bool|"
    r"c?(half|float|double)|complex\d*|q?u?int\d+(x\d+)?|bits\w+)$"
)
_TENSOR_MODULES: Final = frozenset({"torch", "torch.cuda", "torch.storage"})


def canonical(module: str, name: str) -> str:
    """``module.name`` with Python 2 module names mapped as the unpickler maps them."""
    return f"{PY2_MODULES.get(module, module)}.{name}"


def classify(module: str, name: str) -> Verdict:
    """The verdict for a global named *name* in *module*."""
    full = canonical(module, name)
    top = full.split(".", 1)[0]
    base = PY2_MODULES.get(module, module)
    if top in DANGEROUS_MODULES or base in DANGEROUS_MODULES:
        return "dangerous"
    if any(full == item or full.startswith(item + ".") for item in DANGEROUS_NAMES):
        return "dangerous"
    if full in WEIGHTS_NAMES:
        return "weights"
    if base == "torch._utils" and name.startswith("_rebuild_"):
        return "weights"
    if base in _TENSOR_MODULES and name.endswith(("Storage", "Tensor")):
        return "weights"
    if base == "torch" and _DTYPE.match(name):
        return "weights"
    return "other"
