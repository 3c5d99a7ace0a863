"""TorchServe's default image handlers through ``mar run``, checked against an independent
computation in the test (PIL + numpy preprocessing, the same tiny model, captum for
explanations): upstream's versions need torchvision, which this machine cannot run."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.run.models import FakeDetector, TinyCNN, TinySegmenter, torchscript
from tests.run.support import build_archive, manifest, run_mar

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
LABELS = {"0": ["n0", "zero"], "1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}


def _image(path: Path, size: tuple[int, int], fmt: str) -> Path:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path, fmt)
    return path


def _imagenet_tensor(path: Path) -> torch.Tensor:
    """Resize(256) + CenterCrop(224) + ToTensor + Normalize, written with PIL and numpy."""
    image: Image.Image = Image.open(path)
    width, height = image.size
    short_is_width = width <= height
    size = (256, int(256 * height / width)) if short_is_width else (int(256 * width / height), 256)
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = round((size[0] - 224) / 2), round((size[1] - 224) / 2)
    image = image.crop((left, top, left + 224, top + 224))
    array = np.asarray(image, dtype=np.float32) / np.float32(255)
    array = (array - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _load(model_bytes: bytes) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what TorchServe loads
        module = torch.jit.load(io.BytesIO(model_bytes))  # type: ignore[no-untyped-call]
    assert isinstance(module, torch.jit.ScriptModule)
    return module.eval()


def _assert_close(actual: Any, expected: Any) -> None:
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            _assert_close(actual[key], expected[key])
    elif isinstance(expected, list):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            _assert_close(a, e)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-5, abs=1e-7)
    else:
        assert actual == expected


def test_image_classifier_top5_with_labels(tmp_path: Path, cache: Path) -> None:
    weights = torchscript(TinyCNN(), seed=3)
    archive = build_archive(
        tmp_path / "cls",
        {"model.pt": weights, "index_to_name.json": json.dumps(LABELS)},
        manifest("image_classifier", serialized_file="model.pt"),
    )
    images = [
        _image(tmp_path / "landscape.jpg", (320, 240), "JPEG"),
        _image(tmp_path / "portrait.png", (150, 300), "PNG"),
    ]
    done = run_mar(
        [archive, "--batch-size", "2", "--input", images[0], "--input", f"data=@{images[1]}"],
        cache=cache,
    )
    assert done.returncode == 0, done.stderr
    batch = torch.stack([_imagenet_tensor(path) for path in images])
    with torch.inference_mode():
        probabilities = torch.softmax(_load(weights)(batch), dim=1)
    top = torch.topk(probabilities, 5, dim=1)
    names = {key: value[-1] if isinstance(value, list) else value for key, value in LABELS.items()}
    expected = [
        {names[str(c)]: p for c, p in zip(classes, probs, strict=True)}
        for classes, probs in zip(top.indices.tolist(), top.values.tolist(), strict=True)
    ]
    _assert_close(json.loads(done.stdout), expected)


def test_image_segmenter_per_pixel_class_and_probability(tmp_path: Path, cache: Path) -> None:
    weights = torchscript(TinySegmenter(), seed=4)
    archive = build_archive(
        tmp_path / "seg",
        {"model.pt": weights},
        manifest("image_segmenter", serialized_file="model.pt"),
    )
    image = _image(tmp_path / "scene.png", (256, 256), "PNG")
    done = run_mar([archive, "--input", image], cache=cache)
    assert done.returncode == 0, done.stderr
    with torch.inference_mode():
        logits = _load(weights)(_imagenet_tensor(image).unsqueeze(0))["out"]
    best = torch.softmax(logits, dim=1).max(dim=1)
    expected = torch.stack([best.indices.float(), best.values], dim=3).tolist()[0]
    body = json.loads(done.stdout)
    assert len(body) == 28 and len(body[0]) == 28 and len(body[0][0]) == 2
    _assert_close(body, expected)


def test_object_detector_boxes_above_threshold(tmp_path: Path, cache: Path) -> None:
    weights = torchscript(FakeDetector())
    archive = build_archive(
        tmp_path / "det",
        {"model.pt": weights, "index_to_name.json": '{"1": "cat", "2": "dog", "3": "bird"}'},
        manifest("object_detector", serialized_file="model.pt"),
    )
    path = tmp_path / "flat.png"
    Image.new("RGB", (64, 48), (200, 50, 128)).save(path)
    done = run_mar([archive, "--input", path], cache=cache)
    assert done.returncode == 0, done.stderr
    tensor = torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32) / np.float32(255))
    with torch.inference_mode():
        [found] = _load(weights)(tensor.permute(2, 0, 1).unsqueeze(0))
    names = {1: "cat", 2: "dog", 3: "bird"}
    expected = [
        {names[label]: box, "score": score}
        for box, label, score in zip(
            found["boxes"].tolist(), found["labels"].tolist(), found["scores"].tolist(), strict=True
        )
        if score >= 0.5
    ]
    assert [next(iter(item)) for item in expected] == ["cat", "bird"]  # the threshold matters
    _assert_close(json.loads(done.stdout), expected)


def test_image_classifier_explanation_is_captums_integrated_gradients(
    tmp_path: Path, cache: Path
) -> None:
    from captum.attr import IntegratedGradients

    weights = torchscript(TinyCNN(), seed=5)
    archive = build_archive(
        tmp_path / "exp",
        {"model.pt": weights},
        manifest("image_classifier", serialized_file="model.pt"),
    )
    image = _image(tmp_path / "e.png", (224, 224), "PNG")
    done = run_mar([archive, "--input", image, "--explain"], cache=cache)
    assert done.returncode == 0, done.stderr
    assert "input shape torch.Size([1, 3, 224, 224])" in done.stderr
    expected = (
        IntegratedGradients(_load(weights))
        .attribute(_imagenet_tensor(image).unsqueeze(0), target=0, n_steps=15)
        .tolist()[0]
    )
    _assert_close(json.loads(done.stdout), expected)


def test_onnx_model_without_onnxruntime_says_what_is_missing(tmp_path: Path, cache: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is not None:
        pytest.skip("onnxruntime is installed here")
    archive = build_archive(
        tmp_path / "onnx",
        {"model.onnx": b"not really onnx"},
        manifest("base_handler", serialized_file="model.onnx"),
    )
    done = run_mar([archive, "--quiet"], cache=cache)
    assert done.returncode == 4
    assert done.stderr == (
        "mar: error: the model failed to load: RuntimeError: No model weights could be loaded "
        "(an .onnx model needs onnxruntime in the model's environment)\n"
    )


def test_explaining_without_captum_says_what_is_missing(tmp_path: Path, cache: Path) -> None:
    # An empty captum.py in the model directory (which comes first on the path) hides the
    # installed captum the way its absence would: `import captum.attr` fails.
    archive = build_archive(
        tmp_path / "nocaptum",
        {"model.pt": torchscript(TinyCNN()), "captum.py": ""},
        manifest("image_classifier", serialized_file="model.pt"),
    )
    image = _image(tmp_path / "e.png", (224, 224), "PNG")
    done = run_mar([archive, "--input", image, "--explain"], cache=cache)
    assert done.returncode == 1
    assert json.loads(done.stdout)["code"] == 503
    assert done.stderr.endswith(
        "ModuleNotFoundError: explanations need captum, which is not installed in the model's "
        "environment (pip install captum)\n"
        f"mar: error: request '{image}' failed: 503 Prediction failed\n"
    )
