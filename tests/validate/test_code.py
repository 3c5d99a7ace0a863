"""The handler, the model file and their imports, read statically by TorchServe's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_tools.report.finding import Severity
from mar_tools.report.result import ArchiveResult
from tests.validate.builders import MODEL, check, manifest, members, write_zip


def with_handler(
    tmp_path: Path,
    weights: bytes,
    source: bytes,
    handler: str = "handler.py",
    config: bytes | None = None,
    extra: dict[str, bytes] | None = None,
    **changed: bytes,
) -> ArchiveResult:
    """The model with *source* as handler.py, *handler* in the manifest, *extra* files."""
    changes: dict[str, bytes | None] = {
        "manifest": manifest({"handler": handler}),
        **(extra or {}),
        **changed,
    }
    if config is not None:
        changes["model_config_yaml"] = config
    changes["handler.py"] = source
    return check(write_zip(tmp_path / "m.mar", members(weights, **changes)))


def found(result: ArchiveResult, prefix: str = "") -> list[tuple[str, int | None]]:
    return [(f.code, f.location.line) for f in result.findings if f.code.startswith(prefix)]


CLASS_WITH_HANDLE = b"class H:\n    def handle(self, data, context):\n        return data\n"


@pytest.mark.parametrize(
    "source",
    [
        b"from mypkg.handlers import handle\n",  # an imported name is an attribute too
        b"from json import *\n",  # a star import may provide it: nothing certain
        b"def handle(data, context, *, extra=None):\n    return data\n",
        b"def handle(*args):\n    return args[0]\n",
        b"def handle(data, context=None, extra=1):\n    return data\n",
        b"import functools\n\n\n@functools.lru_cache\ndef handle(data):\n    return data\n",
        b"class H:\n    @staticmethod\n    def handle(data, context):\n        return data\n",
        b"class H(Base):\n    pass\n",  # handle may come from the base class
        b"class H:\n    def __init__(self, size=1):\n        self.size = size\n\n"
        b"    handle = staticmethod(lambda data, context: data)\n",
        b"def helper():\n    class Local:\n        pass\n    return Local\n\n\n"
        b"class H:\n    def handle(self, data, context):\n        return data\n",
    ],
)
def test_accepted_entry_points(source: bytes, tmp_path: Path, weights: bytes) -> None:
    result = with_handler(tmp_path, weights, source)
    assert found(result, "handler.") == []


@pytest.mark.parametrize(
    ("source", "code", "line"),
    [
        (CLASS_WITH_HANDLE + b"\n\nAlias = H\n", "handler.multiple-classes", 6),
        (
            b"import collections\nPoint = collections.namedtuple('Point', 'x y')\n\n\n"
            + CLASS_WITH_HANDLE,
            "handler.multiple-classes",
            5,
        ),
        (
            b"try:\n    class A:\n        pass\nexcept ImportError:\n    pass\n\n\n"
            + CLASS_WITH_HANDLE,
            "handler.multiple-classes",
            8,
        ),
        (b"class H(object):\n    pass\n", "handler.no-handle-method", 1),
        (b"def handle(data, context, mode):\n    return data\n", "handler.function-signature", 1),
        (
            b"def handle(data, context, *, mode):\n    return data\n",
            "handler.function-signature",
            1,
        ),
        (
            b"class H:\n    def handle(self, data):\n        return data\n",
            "handler.function-signature",
            2,
        ),
        (
            b"class H:\n    def __init__(self, *, size):\n        pass\n\n"
            b"    def handle(self, data, context):\n        return data\n",
            "handler.init-signature",
            2,
        ),
        (b"def handle(data, context):\n    return data\n  oops\n", "handler.syntax-error", 3),
    ],
)
def test_refused_entry_points(
    source: bytes, code: str, line: int, tmp_path: Path, weights: bytes
) -> None:
    result = with_handler(tmp_path, weights, source)
    assert found(result, "handler.") == [(code, line)]


def test_async_handle_needs_async_communication(tmp_path: Path, weights: bytes) -> None:
    async_handler = b"async def handle(data, context):\n    return data\n"
    on = b"asyncCommunication: true\n"
    assert found(with_handler(tmp_path, weights, async_handler, config=on), "handler.") == []
    sync_handler = b"def handle(data, context):\n    return data\n"
    result = with_handler(tmp_path, weights, sync_handler, config=on)
    assert found(result, "handler.") == [("handler.async-entry-point", 1)]
    assert "is not a coroutine but asyncCommunication is true" in result.findings[0].message


def test_named_function_is_the_entry_point(tmp_path: Path, weights: bytes) -> None:
    source = (
        b"def serve(data, context):\n    return data\n\n\n"
        b"class A:\n    pass\n\n\nclass B:\n    pass\n"
    )
    assert found(with_handler(tmp_path, weights, source, "handler:serve"), "handler.") == []
    missing = with_handler(tmp_path, weights, source, "handler:predict")
    assert found(missing, "handler.") == [
        ("handler.multiple-classes", 9),
        ("handler.function-not-found", None),
    ]


def test_built_in_handlers_need_no_file(tmp_path: Path, weights: bytes) -> None:
    for name in ("image_classifier", "text_classifier", "vision_handler", "base_handler"):
        files = members(weights, handler_py=None, manifest=manifest({"handler": name}))
        result = check(write_zip(tmp_path / f"{name}.mar", files))
        assert found(result, "handler.") == [], name


def test_built_in_name_with_function_suffix_is_not_found(tmp_path: Path, weights: bytes) -> None:
    files = members(
        weights, handler_py=None, manifest=manifest({"handler": "image_classifier:handle"})
    )
    result = check(write_zip(tmp_path / "m.mar", files))
    assert found(result, "handler.") == [("handler.not-found", None)]


def test_handler_package_directory_is_found(tmp_path: Path, weights: bytes) -> None:
    files = members(
        weights,
        handler_py=None,
        **{"myhandler/__init__.py": b"def handle(data, context):\n    return data\n"},
        manifest=manifest({"handler": "myhandler"}),
    )
    assert found(check(write_zip(tmp_path / "m.mar", files)), "handler.") == []


def test_lsp_runtime_handlers_are_not_checked(tmp_path: Path, weights: bytes) -> None:
    files = members(weights, handler_py=None,
                    manifest=manifest({"handler": "libmodel:Handler"}, runtime="LSP"))  # fmt: skip
    assert found(check(write_zip(tmp_path / "m.mar", files)), "handler.") == []


# --- model file -------------------------------------------------------------------------
TWO_MODELS = (
    b"import torch\n\n\nclass A(torch.nn.Module):\n    pass\n\n\n"
    b"class B(torch.nn.Module):\n    pass\n"
)


@pytest.mark.parametrize(
    ("handler_source", "handler", "severity"),
    [
        (b"from ts.torch_handler.base_handler import BaseHandler\n\n\n"
         b"class H(BaseHandler):\n    pass\n", "handler.py", Severity.ERROR),
        (b"", "image_classifier", Severity.ERROR),
        (b"def handle(data, context):\n    return data\n", "handler.py", Severity.WARNING),
        (b"from ts.torch_handler.base_handler import BaseHandler\n\n\nclass H(BaseHandler):\n"
         b"    def initialize(self, context):\n        pass\n", "handler.py", Severity.WARNING),
    ],
)  # fmt: skip
def test_model_class_count_is_an_error_only_when_base_handler_loads_it(
    handler_source: bytes, handler: str, severity: Severity, tmp_path: Path, weights: bytes
) -> None:
    result = with_handler(tmp_path, weights, handler_source, handler, model_py=TWO_MODELS)
    model = [f for f in result.findings if f.code.startswith("model.")]
    assert [(f.code, f.severity, f.location.line) for f in model] == [
        ("model.class-count", severity, 8)
    ]


def test_good_model_file_has_no_findings(tmp_path: Path, weights: bytes) -> None:
    result = with_handler(tmp_path, weights, CLASS_WITH_HANDLE, model_py=MODEL)
    assert result.findings == ()


# --- imports ----------------------------------------------------------------------------
def test_imports_resolve_against_archive_requirements_stdlib_and_environment(
    tmp_path: Path, weights: bytes
) -> None:
    source = (
        b"import json\nimport os.path\nimport yaml\nimport torch\nimport ts.utils\n"
        b"import helpers\nfrom PIL import Image\n"
        b"try:\n    import not_installed_optional\nexcept ImportError:\n    pass\n"
        b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import not_installed_typing\n"
        b"\n\ndef handle(data, context):\n    import not_installed_lazy\n    return data\n"
    )
    result = with_handler(
        tmp_path,
        weights,
        source,
        requirements_txt=b"Pillow>=10\n",
        extra={"helpers.py": b"import not_installed_in_helper\nfrom . import sibling\n"},
    )
    assert [(f.location.member, f.location.line, f.message) for f in result.findings] == [
        (
            "handler.py",
            18,
            "module 'not_installed_lazy' is not in the archive, the standard library, the "
            "requirements or this environment.",
        ),
        (
            "helpers.py",
            1,
            "module 'not_installed_in_helper' is not in the archive, the standard library, "
            "the requirements or this environment.",
        ),
        (
            "helpers.py",
            2,
            "relative import in a top-level module (TorchServe imports it as one).",
        ),
    ]


def test_imports_resolve_against_local_packages_in_the_requirements(
    tmp_path: Path, weights: bytes
) -> None:
    source = (
        b"import tiny_dep\nimport other_pkg\nimport project_dir\nimport missing_one\n\n\n"
        b"def handle(data, context):\n    return data\n"
    )
    result = with_handler(
        tmp_path,
        weights,
        source,
        requirements_txt=(
            b"./tiny_dep-0.1.0-py3-none-any.whl\nother-pkg-2.0.tar.gz\n./project_dir\n"
        ),
        extra={
            "tiny_dep-0.1.0-py3-none-any.whl": b"PK",
            "other-pkg-2.0.tar.gz": b"gz",
            "project_dir/setup.py": b"",
        },
    )
    assert [(f.code, f.location.line) for f in result.findings] == [("imports.unresolved", 4)]


def test_imports_into_archive_packages(tmp_path: Path, weights: bytes) -> None:
    source = (
        b"from pkg.sub import thing\nimport pkg.missing\n\n\n"
        b"def handle(data, context):\n    return data\n"
    )
    result = with_handler(
        tmp_path,
        weights,
        source,
        extra={
            "pkg/__init__.py": b"",
            "pkg/sub.py": b"from . import other\nthing = 1\n",
            "pkg/other.py": b"",
        },
    )
    assert [(f.location.member, f.location.line, f.message) for f in result.findings] == [
        ("handler.py", 2, "module 'pkg.missing' is not in the archive.")
    ]


def test_compiled_and_namespace_modules_count_as_found(tmp_path: Path, weights: bytes) -> None:
    source = (
        b"import fastops\nimport nsdir.inner\nimport pkg.deep.mod\n\n\n"
        b"def handle(data, context):\n    return data\n"
    )
    result = with_handler(
        tmp_path,
        weights,
        source,
        extra={
            "fastops.cpython-311-x86_64-linux-gnu.so": b"\x7fELF",
            "nsdir/inner.py": b"",
            "pkg/__init__.py": b"",
            "pkg/deep/mod.py": b"",
        },
    )
    assert result.findings == ()
    compiled = members(weights, handler_py=None, manifest=manifest({"handler": "native"}))
    compiled["native.so"] = b"\x7fELF"
    assert found(check(write_zip(tmp_path / "c.mar", compiled)), "handler.") == []


# --- class counting: module attributes on the path an import takes ------------------------
BASE = b"from ts.torch_handler.base_handler import BaseHandler\n"


@pytest.mark.parametrize(
    "source",
    [
        # One attribute whichever branch runs.
        BASE + b"import sys\nif sys.version_info >= (3, 9):\n    class H(BaseHandler):\n"
        b"        pass\nelse:\n    class H(BaseHandler):\n        pass\n",
        # A fallback class in an except block does not exist when the import works.
        b"try:\n    from ts.torch_handler.base_handler import BaseHandler\n"
        b"except ImportError:\n    class BaseHandler:\n        pass\n\n\n"
        b"class H(BaseHandler):\n    pass\n",
        # Never defined on import.
        b"from typing import TYPE_CHECKING, Protocol\n" + BASE
        + b"if TYPE_CHECKING:\n    class Context(Protocol):\n        model_dir: str\n\n\n"
        b"class H(BaseHandler):\n    pass\n",
        BASE + b"class H(BaseHandler):\n    pass\n\n\nif __name__ == '__main__':\n"
        b"    class Fake:\n        pass\n",
        # Rebound or deleted names are no longer classes.
        BASE + b"class Helper:\n    pass\n\n\nHelper = None\n\n\nclass H(BaseHandler):\n    pass\n",
        BASE + b"class Helper:\n    pass\n\n\ndel Helper\n\n\nclass H(BaseHandler):\n    pass\n",
    ],
)  # fmt: skip
def test_classes_are_counted_as_torchserve_lists_module_attributes(
    source: bytes, tmp_path: Path, weights: bytes
) -> None:
    assert found(with_handler(tmp_path, weights, source), "handler.") == []


def test_imports_under_a_main_guard_are_not_checked(tmp_path: Path, weights: bytes) -> None:
    source = CLASS_WITH_HANDLE + b"\n\nif __name__ == '__main__':\n    import not_installed_cli\n"
    assert found(with_handler(tmp_path, weights, source), "imports.") == []


def test_dotted_handler_module_needs_the_package(tmp_path: Path, weights: bytes) -> None:
    # TorchServe runs import_module("handler.v2"): 'handler' must be a package.
    files = members(weights, handler_py=None, manifest=manifest({"handler": "handler.v2.py"}))
    files["handler.v2.py"] = CLASS_WITH_HANDLE
    result = check(write_zip(tmp_path / "m.mar", files))
    assert found(result, "handler.") == [("handler.not-found", None)]
    assert "package 'handler'" in result.findings[0].message
    files["handler/__init__.py"] = b""
    files["handler/v2.py"] = CLASS_WITH_HANDLE
    assert found(check(write_zip(tmp_path / "p.mar", files)), "handler.") == []


def test_modules_every_torchserve_install_has_are_resolved(
    tmp_path: Path, weights: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mar_tools.validate import imports

    # As if validating where Pillow, psutil... are not installed (a slim CI image).
    monkeypatch.setattr(imports, "_installed", lambda _top: False)
    source = b"import PIL.Image\nimport psutil\nimport packaging.version\nimport yaml\n"
    result = with_handler(tmp_path, weights, source + CLASS_WITH_HANDLE)
    assert found(result, "imports.") == []
