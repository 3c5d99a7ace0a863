"""The globals a pickle may use, each with how it may be used: the allowlist.

Three uses, from the most to the least powerful:

* ``call``: ``REDUCE``/``INST``/``OBJ`` call it with the pickle's arguments. Only rebuild
  functions and plain data types whose constructors run no code of the pickle's choosing.
* ``new``: ``NEWOBJ`` builds an instance with ``cls.__new__`` (no ``__init__``), and
  ``BUILD`` fills it through the class's own ``__setstate__`` or ``__dict__``: how a
  pickled ``nn.Module`` rebuilds itself. Classes of torch's ``nn`` packages.
* ``ref``: the object is only passed around (dtypes, quantization schemes, the functions
  of ``torch.nn.functional`` that a model keeps as its activation).

Names are exact pairs (module, qualified name) as the unpickler resolves them: a dotted
name (``torch._utils.os.system`` in protocol 4) matches nothing here, whatever its start.
Some allowed callables call or load one of their arguments; :data:`ARGUMENT_RULES` says
what each of those arguments must be.
"""

from __future__ import annotations

from typing import Final, Literal

from mar_tools.validate.pickle.torch_names import (
    DTYPES,
    NN_CLASSES,
    NN_FUNCTIONS,
    STORAGES,
    TENSOR_CLASSES,
)

Use = Literal["call", "new", "ref"]
CALL: Final[frozenset[Use]] = frozenset({"call", "new", "ref"})
NEW: Final[frozenset[Use]] = frozenset({"new", "ref"})
REF: Final[frozenset[Use]] = frozenset({"ref"})
NONE: Final[frozenset[Use]] = frozenset()
#: What an argument of a rule-bearing callable must be: a global allowed to be called,
#: one allowed to be built (a class), the latin-1 codec name, or literal bytes (a torch
#: file, scanned in turn).
Requirement = Literal["call", "new", "latin1", "torch-file", "call-or-none"]

# fmt: off
_ENTRIES: Final[tuple[tuple[frozenset[Use], str, str], ...]] = (
    (CALL, "collections", "OrderedDict Counter defaultdict deque"),
    (CALL, "builtins", "set frozenset complex bytearray bytes slice range object bool int "
                       "float str tuple list dict"),
    (CALL, "_codecs", "encode"),
    (CALL, "copyreg", "_reconstructor"),
    (CALL, "torch", "Size device Tensor"),
    (NEW, "torch", "ScriptObject"),
    (CALL, "torch._utils", "_rebuild_parameter _rebuild_parameter_with_state _rebuild_qtensor "
                           "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 "
                           "_rebuild_sparse_tensor _rebuild_meta_tensor_no_storage "
                           "_rebuild_nested_tensor _rebuild_wrapper_subclass "
                           "_rebuild_device_tensor_from_numpy "
                           "_rebuild_device_tensor_from_cpu_tensor"),
    (CALL, "torch._tensor", "_rebuild_from_type _rebuild_from_type_v2"),
    (CALL, "torch.serialization", "_get_layout"),
    (CALL, "torch.storage", "_load_from_bytes"),
    (REF, "torch", "per_tensor_affine per_tensor_symmetric per_channel_affine "
                   "per_channel_symmetric per_channel_affine_float_qparams"),
    (REF, "torch", DTYPES),
    # NumPy arrays, scalars and dtypes (NumPy 1 and 2 module names).
    (CALL, "numpy.core.multiarray", "_reconstruct scalar"),
    (CALL, "numpy._core.multiarray", "_reconstruct scalar"),
    (CALL, "numpy.core.numeric", "_frombuffer"),
    (CALL, "numpy._core.numeric", "_frombuffer"),
    (CALL, "numpy", "dtype"),
    (NEW, "numpy", "ndarray"),
    (CALL, "numpy.ma.core", "_mareconstruct"),
    (NEW, "numpy.ma.core", "MaskedArray"),
    (NEW, "numpy.ma", "MaskedArray"),
    # Plain values that training checkpoints hold next to the weights.
    (CALL, "argparse", "Namespace"),
    (CALL, "datetime", "date time datetime timedelta timezone"),
    (CALL, "pathlib", "PurePath PurePosixPath PureWindowsPath Path PosixPath WindowsPath"),
    (CALL, "decimal", "Decimal"),
    (CALL, "fractions", "Fraction"),
    (CALL, "uuid", "UUID"),
)
# fmt: on

#: Positions of the arguments that an allowed callable calls or loads, and what each
#: must be.
ARGUMENT_RULES: Final[dict[tuple[str, str], tuple[tuple[int, Requirement], ...]]] = {
    ("torch._tensor", "_rebuild_from_type_v2"): ((0, "call"), (1, "new")),
    ("torch._tensor", "_rebuild_from_type"): ((0, "call"), (1, "new")),
    ("torch._utils", "_rebuild_wrapper_subclass"): ((0, "new"),),
    ("copyreg", "_reconstructor"): ((0, "new"), (1, "call")),
    ("numpy.core.multiarray", "_reconstruct"): ((0, "new"),),
    ("numpy._core.multiarray", "_reconstruct"): ((0, "new"),),
    ("numpy.ma.core", "_mareconstruct"): ((0, "new"), (1, "new")),
    ("collections", "defaultdict"): ((0, "call-or-none"),),
    ("_codecs", "encode"): ((1, "latin1"),),
    ("torch.storage", "_load_from_bytes"): ((0, "torch-file"),),
}

#: Callables that call one argument with another: (position of the function, position of
#: its argument tuple). The forwarded call is checked as if the pickle made it.
FORWARDS: Final[dict[tuple[str, str], tuple[int, int]]] = {
    ("torch._tensor", "_rebuild_from_type_v2"): (0, 2),
    ("torch._tensor", "_rebuild_from_type"): (0, 2),
}

#: Globals that a TorchScript file's pickles name, resolved by torch's C++ unpickler (which
#: cannot run Python): its own list builders, and classes compiled from the file's code.
TORCHSCRIPT_ENTRIES: Final[tuple[tuple[frozenset[Use], str, str], ...]] = (
    (
        CALL,
        "torch.jit._pickle",
        "build_intlist build_tensorlist build_doublelist build_boollist "
        "build_tensor_from_id restore_type_tag",
    ),
)
TORCHSCRIPT_PREFIX: Final = "__torch__"


def _table(
    entries: tuple[tuple[frozenset[Use], str, str], ...],
) -> dict[tuple[str, str], frozenset[Use]]:
    table: dict[tuple[str, str], frozenset[Use]] = {}
    for uses, module, names in entries:
        for name in names.split():
            table[(module, name)] = table.get((module, name), NONE) | uses
    return table


def _torch_classes() -> dict[tuple[str, str], frozenset[Use]]:
    table: dict[tuple[str, str], frozenset[Use]] = {}
    for module, names in NN_CLASSES.items():
        for name in names.split():
            table[(module, name)] = NEW
    table[("torch.nn.parameter", "Parameter")] = CALL  # torch's own NEWOBJ calls it
    for module, names in NN_FUNCTIONS.items():
        for name in names.split():
            table[(module, name)] = REF
    for full in [*STORAGES, *TENSOR_CLASSES.split()]:
        module, _, name = full.rpartition(".")
        table[(module, name)] = CALL
    return table


ALLOWED: Final[dict[tuple[str, str], frozenset[Use]]] = {
    **_torch_classes(),
    **_table(_ENTRIES),
}
TORCHSCRIPT_ALLOWED: Final = _table(TORCHSCRIPT_ENTRIES)
