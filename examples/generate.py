"""Generate the example models' binary artifacts into examples/build/ (gitignored).

Run with the project's interpreter (it needs torch): ``.venv/bin/python examples/generate.py``.
Nothing is downloaded; weights are tiny and seeded, so every run produces the same models.
A stamp records a hash of everything the outputs depend on; when nothing changed the script
returns at once (it is part of ``dev/example``, which runs often).

Outputs (per example, under examples/build/<example>/):

* eager_classifier/weights.pt: state dict of examples/eager_classifier/model.py;
* scripted_fn/model.pt: a TorchScript module (y = 2x + 1);
* with_extras/weights.pt: state dict of examples/with_extras/model.py;
* with_extras/tinydep-0.1.0-py3-none-any.whl: the example's dependency, a wheel built here
  from examples/with_extras/tinydep/ (no build backend or index needed to install it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import sys
import zipfile
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
WHEEL_NAME = "tinydep-0.1.0-py3-none-any.whl"
STAMP = ".generated"
#: Everything this script writes, relative to --out.
OUTPUTS = (
    "eager_classifier/weights.pt",
    "scripted_fn/model.pt",
    "with_extras/weights.pt",
    f"with_extras/{WHEEL_NAME}",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "build", help="output directory")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()

    key = _inputs_hash(importlib.metadata.version("torch"))
    if not args.force and up_to_date(out, key):
        print(f"examples: up to date in {out}")
        return 0
    import torch  # only now: importing it takes a second

    torch.manual_seed(0)
    _eager_classifier(torch, out / "eager_classifier")
    _scripted_fn(torch, out / "scripted_fn")
    _with_extras(torch, out / "with_extras")
    (out / STAMP).write_text(key + "\n")
    print(f"examples: generated in {out}")
    return 0


def up_to_date(out: Path, key: str) -> bool:
    """True when *out* holds every output, generated from inputs whose hash is *key*."""
    stamp = out / STAMP
    if not stamp.exists() or stamp.read_text().strip() != key:
        return False
    return all((out / name).is_file() for name in OUTPUTS)


def _inputs_hash(torch_version: str) -> str:
    """A hash of every file the outputs are made from (and of torch's version)."""
    digest = hashlib.sha256(torch_version.encode())
    sources = [Path(__file__), *sorted(HERE.glob("*/model.py"))]
    sources.append(HERE / "with_extras" / "assets" / "vocab.txt")  # sets the weights
    sources += sorted((HERE / "with_extras" / "tinydep").rglob("*.py"))
    for source in sources:
        digest.update(source.relative_to(HERE).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _eager_classifier(torch: ModuleType, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    module = _load_module(HERE / "eager_classifier" / "model.py", "example_eager_model")
    model = module.TinyClassifier()
    torch.save(model.state_dict(), out / "weights.pt")


def _scripted_fn(torch: ModuleType, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    class Affine(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(2.0), requires_grad=False)
            self.shift = torch.nn.Parameter(torch.tensor(1.0), requires_grad=False)

        def forward(self, values: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
            return values * self.scale + self.shift

    torch.jit.save(torch.jit.script(Affine()), str(out / "model.pt"))


def _with_extras(torch: ModuleType, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    module = _load_module(HERE / "with_extras" / "model.py", "example_bow_model")
    model = module.BagOfWords()
    vocabulary = (HERE / "with_extras" / "assets" / "vocab.txt").read_text().split()
    positive = {"good", "great", "love", "fine"}
    with torch.no_grad():
        sign = torch.tensor([1.0 if word in positive else -1.0 for word in vocabulary])
        model.linear.weight.copy_(torch.stack([-sign, sign]))
        model.linear.bias.zero_()
    torch.save(model.state_dict(), out / "weights.pt")
    _build_wheel(HERE / "with_extras" / "tinydep", out / WHEEL_NAME)


def _build_wheel(project: Path, target: Path) -> None:
    """A minimal pure-Python wheel (PEP 427) of the package directory in *project*."""
    dist_info = "tinydep-0.1.0.dist-info"
    files: dict[str, bytes] = {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*.py"))
    }
    files[f"{dist_info}/METADATA"] = (
        b"Metadata-Version: 2.1\nName: tinydep\nVersion: 0.1.0\n"
        b"Summary: Word normalization for the mar-tools with_extras example\n"
    )
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: mar-tools examples/generate.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{name},sha256={_urlsafe_sha256(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data, zipfile.ZIP_DEFLATED)


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


if __name__ == "__main__":
    sys.exit(main())
