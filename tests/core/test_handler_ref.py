"""The handler-reference grammar shared by the archiver, the validator and the runner."""

from __future__ import annotations

import pytest

from mar_tools.core.handler_ref import HandlerRef, model_module_name


@pytest.mark.parametrize(
    ("text", "module", "function", "source", "manifest"),
    [
        ("handler", "handler", "handle", "handler.py", "handler"),
        ("handler.py", "handler", "handle", "handler.py", "handler.py"),
        ("handler:my_fn", "handler", "my_fn", "handler.py", "handler:my_fn"),
        ("handler.py:my_fn", "handler", "my_fn", "handler.py", "handler.py:my_fn"),
        ("dir/sub/handler:fn", "handler", "fn", "dir/sub/handler.py", "handler:fn"),
        ("a.py::my-awesome-func", "a", ":my-awesome-func", "a.py", "a.py::my-awesome-func"),
    ],
)
def test_forms(text: str, module: str, function: str, source: str, manifest: str) -> None:
    ref = HandlerRef.parse(text)
    assert ref.text == text
    assert ref.module_name == module
    assert ref.function_name == function
    assert ref.source_path() == source
    assert ref.manifest_value == manifest
    assert ref.archive_name() == source.rsplit("/", 1)[-1]


def test_builtin_names_depend_on_the_runtime() -> None:
    assert HandlerRef.parse("image_classifier").is_builtin()
    assert HandlerRef.parse("image_classifier").is_builtin("python3")
    assert not HandlerRef.parse("image_classifier.py").is_builtin()
    assert not HandlerRef.parse("vision_handler").is_builtin()
    assert HandlerRef.parse("TorchScriptHandler").is_builtin("LSP")
    assert not HandlerRef.parse("image_classifier").is_builtin("LSP")


@pytest.mark.parametrize(
    ("text", "platform", "source"),
    [
        ("libm:Handler", "linux", "libm.so"),
        ("libm.so:Handler", "linux", "libm.so"),
        ("libm:Handler", "darwin", "libm.dylib"),
        ("libm.dll:Handler", "win32", "libm.dll"),
    ],
)
def test_lsp_libraries(text: str, platform: str, source: str) -> None:
    assert HandlerRef.parse(text).source_path("LSP", platform) == source


def test_model_module_name() -> None:
    assert model_module_name("model.py") == "model"
    assert model_module_name("my.model.py") == "my"
