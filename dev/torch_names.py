"""Write ``mar_tools/validate/pickle/torch_names.py`` from the installed torch.

The pickle scanner never imports torch, so the names of torch's classes that a checkpoint
may rebuild (``nn.Module`` subclasses, storages, dtypes...) are kept as a generated table.
Run it after a torch upgrade: ``.venv/bin/python dev/torch_names.py``; the test
``tests/validate/test_pickle_policy.py`` fails while the committed table lacks a name the
installed torch has. Names of older torch versions are kept (``KEEP``): checkpoints saved
with them still name those classes.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "mar_tools/validate/pickle/torch_names.py"
#: Packages whose nn.Module subclasses a pickled model may hold.
PACKAGES = ("torch.nn", "torch.ao.nn")
#: Classes that are not modules but that modules keep in their state (hooks, pruning
#: methods, parameters), all plain objects rebuilt by __new__ and a __dict__ update.
HELPERS = {
    "torch.nn.parameter": "Buffer Parameter UninitializedBuffer UninitializedParameter",
    "torch.nn.utils.weight_norm": "WeightNorm",
    "torch.nn.utils.spectral_norm": (
        "SpectralNorm SpectralNormLoadStateDictPreHook SpectralNormStateDictHook"
    ),
    "torch.nn.utils.prune": (
        "CustomFromMask Identity L1Unstructured LnStructured PruningContainer "
        "RandomStructured RandomUnstructured"
    ),
    "torch.nn.utils.rnn": "PackedSequence",
    "torch.nn.modules.module": "_WrappedHook",
}
#: Names of earlier torch versions (before the move of quantized modules to torch.ao).
KEEP: dict[str, str] = {}


def nn_classes() -> dict[str, set[str]]:
    """Module -> names of the nn.Module subclasses it defines, plus :data:`HELPERS`."""
    import torch

    found: dict[str, set[str]] = {}
    for root in PACKAGES:
        package = importlib.import_module(root)
        names = [root] + [m.name for m in pkgutil.walk_packages(package.__path__, root + ".")]
        for name in names:
            try:
                module = importlib.import_module(name)
            except Exception:  # an optional backend missing: its classes cannot be pickled
                continue
            for attr, obj in vars(module).items():
                defined_here = inspect.isclass(obj) and obj.__module__ == name
                if defined_here and obj.__qualname__ == attr and issubclass(obj, torch.nn.Module):
                    found.setdefault(name, set()).add(attr)
    for table in (HELPERS, KEEP):
        for module_name, names in table.items():
            found.setdefault(module_name, set()).update(names.split())
    return found


def nn_functions() -> dict[str, set[str]]:
    """Module -> names of the functions of ``torch.nn.functional`` (some are builtins of
    ``torch._C._nn``), which models keep as attributes (``self.activation = F.relu``)."""
    import torch.nn.functional as functional

    found: dict[str, set[str]] = {}
    for value in vars(functional).values():
        module = getattr(value, "__module__", None)
        public = callable(value) and not inspect.isclass(value)
        named = public and not getattr(value, "__name__", "_").startswith("_")
        if named and module in ("torch.nn.functional", "torch._C._nn"):
            found.setdefault(module, set()).add(value.__name__)
    return found


def storages() -> dict[str, int]:
    """``module.Name`` of every storage class -> its element size (0 for untyped ones)."""
    import torch

    sizes: dict[str, int] = {}
    for cls in torch._storage_classes:
        dtype = getattr(cls, "_dtype", None)
        size = 0 if not isinstance(dtype, torch.dtype) else torch._utils._element_size(dtype)
        sizes[f"{cls.__module__}.{cls.__name__}"] = size
    return sizes


def _text(value: str, indent: str) -> list[str]:
    """*value* as implicitly concatenated string literals of at most 70 characters."""
    parts = textwrap.wrap(value, 70) or [""]
    if len(parts) == 1:
        return [f'{indent}"{parts[0]}"']
    return [f'{indent}"{part} "' for part in parts[:-1]] + [f'{indent}"{parts[-1]}"']


def _names_table(name: str, what: str, table: dict[str, set[str]]) -> list[str]:
    """The lines of a ``NAME: dict[module, space-separated names]`` constant."""
    lines = [f"#: Module -> {what}, space-separated.", f"{name}: Final[dict[str, str]] = {{"]
    for module, names in sorted(table.items()):
        lines.append(f'    "{module}": (')
        lines.extend(_text(" ".join(sorted(names)), "        "))
        lines.append("    ),")
    lines.append("}")
    return lines


def render() -> str:
    """The text of the generated module (formatted by ruff afterwards)."""
    import torch

    dtypes = sorted(k for k, v in vars(torch).items() if isinstance(v, torch.dtype))
    tensors = sorted(f"{t.__module__}.{t.__name__}" for t in torch._tensor_classes)
    version = torch.__version__.split("+")[0]
    lines = [
        f'"""Names in torch {version} that checkpoints rebuild.',
        "",
        "Generated by ``dev/torch_names.py``; do not edit.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
    ]
    lines += _names_table(
        "NN_CLASSES", "the nn.Module subclasses (and module helpers) it defines", nn_classes()
    )
    lines += _names_table(
        "NN_FUNCTIONS", "the functions of torch.nn.functional it defines", nn_functions()
    )
    lines.append("#: Storage classes (``module.Name``) -> element size in bytes (0: untyped).")
    lines.append("STORAGES: Final[dict[str, int]] = {")
    lines.extend(f'    "{name}": {size},' for name, size in sorted(storages().items()))
    lines.append("}")
    lines.append("#: Attributes of ``torch`` that are dtypes, space-separated.")
    lines.append("DTYPES: Final = (")
    lines.extend(_text(" ".join(dtypes), "    "))
    lines.append(")")
    lines.append("#: The legacy tensor types (``torch.FloatTensor``...), space-separated.")
    lines.append("TENSOR_CLASSES: Final = (")
    lines.extend(_text(" ".join(tensors), "    "))
    lines.append(")")
    return "\n".join(lines) + "\n"


def main() -> int:
    warnings.simplefilter("ignore")
    TARGET.write_text(render())
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "format", "--quiet", str(TARGET)], check=True)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
