"""The worker's loader and service, in this process: handler resolution by TorchServe's
rules (and where mar run does better), device checks through an injected probe, and
tracebacks trimmed to the handler's own frames."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_tools.run.process import COMPAT_DIR
from mar_tools.worker.devices import DeviceUnavailable
from mar_tools.worker.failure import Failure
from mar_tools.worker.loader import HandlerError, resolve_entry_point, split_handler
from mar_tools.worker.messages import LoadRequest, Parameter, Request
from mar_tools.worker.service import load_model
from tests.run.support import manifest, source
from tests.run.test_device import FakeProbe


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[Path]:
    """A model directory first on sys.path and mar-tools' ``ts`` last, as in the worker;
    modules imported by the test are forgotten afterwards."""
    directory = tmp_path / "model"
    (directory / "MAR-INF").mkdir(parents=True)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    sys.path.insert(0, str(directory))
    sys.path.append(str(COMPAT_DIR))
    yield directory
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(source(text))


def _request(
    model_dir: Path, handler: str, device: str = "cpu", index: int | None = None
) -> LoadRequest:
    manifest_text = manifest(handler, name="w")
    (model_dir / "MAR-INF" / "MANIFEST.json").write_text(manifest_text)
    return LoadRequest(
        model_name="w",
        model_dir=str(model_dir),
        handler=handler,
        device=device,
        device_index=index,
        device_flag=f"--device {device}",
        batch_size=4,
        envelope=None,
        limit_max_image_pixels=True,
        metrics_config="metrics.yaml",
        metrics_document={"model_metrics": {"gauge": [
            {"name": "HandlerTime", "unit": "ms", "dimensions": ["ModelName", "Level"]}]}},
        model_yaml_config={"handler": {"k": 1}},
        manifest=json.loads(manifest_text),
    )  # fmt: skip


PROPERTIES = """
    def handle(data, context):
        if data is None:
            return None
        return [dict(context.system_properties, yaml=context.model_yaml_config)]
"""


def test_cuda_device_reaches_the_context_as_gpu_id(model_dir: Path) -> None:
    _write(model_dir, "props_a.py", PROPERTIES)
    service = load_model(_request(model_dir, "props_a", "cuda", 1), FakeProbe(cuda=2))
    outcome = service.predict([Request("r1", (), (Parameter("body", "", b"x"),))])
    assert outcome.response.code == 200
    assert outcome.response.entries[0].body.decode() == source(
        f"""
        {{
          "model_dir": "{model_dir}",
          "gpu_id": 1,
          "batch_size": 4,
          "server_name": "MMS",
          "server_version": "0.12.0",
          "limit_max_image_pixels": true,
          "yaml": {{
            "handler": {{
              "k": 1
            }}
          }}
        }}
        """
    ).rstrip("\n")


def test_missing_cuda_device_fails_before_the_handler_is_imported(model_dir: Path) -> None:
    _write(model_dir, "props_b.py", "raise AssertionError('must not be imported')\n")
    with pytest.raises(DeviceUnavailable, match=r"only 1 CUDA device is visible"):
        load_model(_request(model_dir, "props_b", "cuda", 1), FakeProbe(cuda=1))
    assert "props_b" not in sys.modules


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("h", ("h", None)),
        ("h.py", ("h", None)),
        ("dir/sub/h.py:fn", ("h", "fn")),
        ("h:fn:extra", ("h", "fn:extra")),
        ("image_classifier", ("image_classifier", None)),
    ],
)
def test_split_handler(handler: str, expected: tuple[str, str | None]) -> None:
    assert split_handler(handler) == expected


def test_several_classes_use_the_one_with_handle_and_warn(model_dir: Path) -> None:
    _write(
        model_dir,
        "several.py",
        """
        class Helper:
            pass

        class Handler:
            def initialize(self, context):
                pass

            def handle(self, data, context):
                return data

        class Another:
            pass
        """,
    )
    entry = resolve_entry_point("several.py")
    assert entry.description == "class several.Handler"
    assert entry.warnings == [
        "several defines 3 classes (Another, Handler, Helper); TorchServe 0.12 refuses such a "
        'module ("Expected only one class in custom service code or a function entry point"). '
        "mar run uses Handler, the only one with a handle method."
    ]


def test_several_classes_with_handle_are_refused_with_upstreams_message(model_dir: Path) -> None:
    _write(model_dir, "two.py", "class A:\n    handle = 1\n\nclass B:\n    handle = 2\n")
    with pytest.raises(HandlerError) as caught:
        resolve_entry_point("two")
    assert caught.value.message == (
        "Expected only one class in custom service code or a function entry point "
        "[<class 'two.A'>, <class 'two.B'>]"
    )
    assert caught.value.hint is not None and "move helper classes" in caught.value.hint


def test_module_colon_class_instantiates_the_class_and_warns(model_dir: Path) -> None:
    _write(
        model_dir,
        "klass.py",
        """
        class First:
            pass

        class Mine:
            def initialize(self, context):
                self.ready = True

            def handle(self, data, context):
                return ["ok" if self.ready else "not ready"]
        """,
    )
    entry = resolve_entry_point("klass:Mine")
    entry.initialize(None)
    assert entry.handle([{}], None) == ["ok"]
    assert "TorchServe 0.12 does not support 'module:Class'" in entry.warnings[0]


def test_a_missing_function_falls_back_to_the_class_like_torchserve(model_dir: Path) -> None:
    _write(
        model_dir,
        "onecls.py",
        """
        class H:
            def initialize(self, context):
                pass

            def handle(self, data, context):
                return data
        """,
    )
    entry = resolve_entry_point("onecls:typo")
    assert entry.description == "class onecls.H"
    assert entry.warnings == [
        "module onecls has no function 'typo'; like TorchServe 0.12, mar run falls back to "
        "the module's handler class."
    ]


def test_missing_handler_module(model_dir: Path) -> None:
    with pytest.raises(HandlerError) as caught:
        resolve_entry_point("nowhere.py")
    assert caught.value.message == (
        "handler module 'nowhere' is neither in the model directory nor a TorchServe built-in "
        "handler."
    )


def test_import_error_inside_the_handler_is_shown_not_masked(model_dir: Path) -> None:
    _write(model_dir, "needs_dep.py", "import some_missing_dependency\n")
    with pytest.raises(ModuleNotFoundError) as caught:
        resolve_entry_point("needs_dep.py")
    assert caught.value.name == "some_missing_dependency"
    lines = Failure.from_exception(caught.value).traceback.splitlines()
    # In the worker the frames above these are its own and are dropped too; here the
    # caller is this test. No frame of importlib remains.
    assert lines[-3:] == [
        f'  File "{model_dir / "needs_dep.py"}", line 1, in <module>',
        "    import some_missing_dependency",
        "ModuleNotFoundError: No module named 'some_missing_dependency'",
    ]
    assert not any("importlib" in line for line in lines)


def test_builtin_names_resolve_to_the_compatible_ts_package(model_dir: Path) -> None:
    entry = resolve_entry_point("image_classifier")
    assert entry.description == "class ts.torch_handler.image_classifier.ImageClassifier"
    assert sys.modules["ts"].__file__ == str(COMPAT_DIR / "ts" / "__init__.py")


def test_initialize_failure_keeps_only_the_handlers_frames(model_dir: Path) -> None:
    _write(
        model_dir,
        "broken_init.py",
        """
        def helper():
            raise RuntimeError("weights missing")

        def handle(data, context):
            if data is None:
                helper()
        """,
    )
    with pytest.raises(RuntimeError) as caught:
        load_model(_request(model_dir, "broken_init.py"), FakeProbe())
    text = Failure.from_exception(caught.value).traceback
    assert "mar_tools/worker" not in text
    assert text.splitlines()[-1] == "RuntimeError: weights missing"
    assert text.count(str(model_dir / "broken_init.py")) == 2
