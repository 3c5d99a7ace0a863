"""Imports of the handler and model file (and of archive modules they import) that resolve
to nothing: not in the archive, not in the standard library, not provided by TorchServe
(``ts``, ``torch``, and what the ``torchserve`` package and its backend need), not named
by the requirements file, not installed in the current environment.

Imports inside ``try: ... except ImportError`` or ``if TYPE_CHECKING:`` are optional and
not checked. Nothing is imported: the environment is asked with ``find_spec`` on the
top-level name only, which locates a module without running it.
"""

from __future__ import annotations

import functools
import importlib.util
import posixpath
import sys
from collections.abc import Iterator

from mar_tools.core.archive import Member
from mar_tools.core.python_source import ImportInfo, SourceModule
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.handler import PROVIDED, handler_module
from mar_tools.validate.modules import resolve_dotted
from mar_tools.validate.subject import Subject

#: Import names whose distribution is named differently (the usual suspects in handlers).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "PIL": ("pillow",),
    "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
            "opencv-contrib-python-headless"),
    "sklearn": ("scikit-learn",), "skimage": ("scikit-image",), "yaml": ("pyyaml",),
    "bs4": ("beautifulsoup4",), "attr": ("attrs",), "dateutil": ("python-dateutil",),
    "jwt": ("pyjwt",), "Crypto": ("pycryptodome",), "fitz": ("pymupdf",),
    "docx": ("python-docx",), "dotenv": ("python-dotenv",), "magic": ("python-magic",),
    "faiss": ("faiss-cpu", "faiss-gpu"), "google": ("protobuf",), "serial": ("pyserial",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "tensorrt": ("tensorrt",),
}  # fmt: skip
#: How many archive modules are followed from the handler and model file.
MAX_MODULES = 200
#: Importable wherever TorchServe 0.12 serves: its own ``ts``, torch, the ``torchserve``
#: package's dependencies (Pillow, psutil, packaging, wheel) and PyYAML, which its backend
#: imports to read model-config.yaml.
SERVER_MODULES = PROVIDED | {"PIL", "psutil", "packaging", "wheel", "yaml"}


def check_imports(subject: Subject) -> Iterator[Finding]:
    """One ``imports.unresolved`` warning per import that resolves to nothing."""
    pending = list(_roots(subject))
    seen = {source.member for source in pending}
    wanted = subject.requirement_names
    while pending:
        source = pending.pop(0)
        for item in source.imports:
            if item.optional:
                continue
            problem, local = _resolve(subject, source, item, wanted)
            if problem:
                yield finding(
                    "imports.unresolved",
                    f"{problem}.",
                    source.member,
                    line=item.line,
                    column=item.column,
                )
            for member in local:
                parsed = subject.source(member)
                if parsed is not None and parsed.member not in seen and len(seen) < MAX_MODULES:
                    seen.add(parsed.member)
                    pending.append(parsed)


def _roots(subject: Subject) -> Iterator[SourceModule]:
    located = handler_module(subject)
    if located is not None and located[1] is not None and located[1].member is not None:
        source = subject.source(located[1].member)
        if source is not None and source.tree is not None:
            yield source
    model_file = subject.manifest.model.model_file if subject.manifest else None
    member = subject.find(posixpath.normpath(model_file)) if model_file else None
    if member is not None:
        source = subject.source(member)
        if source is not None and source.tree is not None:
            yield source


def _resolve(
    subject: Subject, source: SourceModule, item: ImportInfo, wanted: set[str]
) -> tuple[str | None, list[Member]]:
    """(why *item* is unresolved or None, archive source files it brings in)."""
    if item.level:
        package = posixpath.dirname(source.member)
        for _ in range(item.level - 1):
            package = posixpath.dirname(package)
        if not package:
            return "relative import in a top-level module (TorchServe imports it as one)", []
        dotted = ".".join([*package.split("/"), *filter(None, [item.module])])
    else:
        dotted = item.module
    if not dotted:
        return None, []
    found = resolve_dotted(subject, dotted)
    if found is not None:
        return None, [m.member for m in found if m.member is not None]
    top = dotted.split(".")[0]
    if item.level or resolve_dotted(subject, top) is not None:
        return f"module {dotted!r} is not in the archive", []
    if _available(top, wanted):
        return None, []
    return (
        f"module {top!r} is not in the archive, the standard library, the requirements or "
        "this environment"
    ), []


def _available(top: str, wanted: set[str]) -> bool:
    """True when *top* is importable where the model is served (cheapest tests first)."""
    if top in sys.stdlib_module_names or top in SERVER_MODULES or top == "__future__":
        return True
    names = {_canonical(top), *DISTRIBUTIONS.get(top, ())}
    if any(_canonical(name) in wanted for name in names) or _installed(top):
        return True
    # Slow (it reads every installed distribution's metadata), so asked last.
    return bool(wanted) and any(_canonical(n) in wanted for n in _distributions().get(top, ()))


@functools.cache
def _installed(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def _distributions() -> dict[str, list[str]]:
    import importlib.metadata

    try:
        return dict(importlib.metadata.packages_distributions())
    except Exception:  # broken metadata in the environment is not the archive's problem
        return {}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
