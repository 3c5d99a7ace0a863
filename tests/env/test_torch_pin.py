"""Requirements that ask for another torch than the inherited one are found and named."""

from __future__ import annotations

from pathlib import Path

from mar_tools.core.requirements import NamedRequirement
from mar_tools.env.torch_pin import (
    TorchConflict,
    constraint_text,
    direct_conflicts,
    installed_conflicts,
)

TORCH = "2.13.0+cpu"


def named(*texts: str) -> list[NamedRequirement]:
    return [NamedRequirement(text, "requirements.txt", i) for i, text in enumerate(texts, 1)]


def test_the_constraint_pins_the_inherited_build_exactly() -> None:
    assert constraint_text(TORCH) == "torch==2.13.0+cpu\n"
    assert constraint_text(None) == ""


def test_direct_conflicts() -> None:
    requirements = named(
        "torch>=2.0",  # satisfied
        "torch==2.13.0",  # satisfied: a local version matches its public version
        "Torch<2.13",  # conflict (names are case-insensitive)
        "torch>=99; python_version < '3'",  # marker false here: ignored
        "torch @ https://example.invalid/torch.whl",  # another torch by URL: conflict
        "numpy>=1",  # not torch
        "torch>=2.14.0rc1",  # conflict (pre-releases compared as versions)
        "this is not a requirement",  # left to pip
    )

    assert direct_conflicts(requirements, TORCH) == [
        TorchConflict("Torch<2.13", "requirements.txt line 3"),
        TorchConflict("torch @ https://example.invalid/torch.whl", "requirements.txt line 5"),
        TorchConflict("torch>=2.14.0rc1", "requirements.txt line 7"),
    ]
    assert direct_conflicts(requirements, None) == []


def test_installed_conflicts_read_requires_dist(tmp_path: Path) -> None:
    def dist(name: str, version: str, *requires: str) -> None:
        info = tmp_path / f"{name}-{version}.dist-info"
        info.mkdir()
        lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
        (info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(lines) + "\n")

    dist("fine", "1.0", "torch>=2", "numpy")
    dist("vision", "0.99", "torch==2.99.0")
    dist("optional", "1.0", "torch>=99; extra == 'gpu'")

    conflicts = installed_conflicts(tmp_path, TORCH)

    assert conflicts == [TorchConflict("torch==2.99.0", "vision 0.99")]
    assert conflicts[0].describe(TORCH) == (
        "vision 0.99 asks for 'torch==2.99.0', which conflicts with torch 2.13.0+cpu from the "
        "launching environment."
    )


def test_another_torch_by_url_or_wheel_file_is_a_conflict() -> None:
    """pip would download such a torch before finding the conflict; uv would leave it out
    without a word. Wheels are judged by the version in their file name."""
    requirements = named(
        "torch @ https://example.invalid/torch.whl",
        "./wheels/torch-2.99.0-py3-none-any.whl",
        "https://example.invalid/whl/torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl",  # same
        "./torch-2.99.0-py3-none-any.whl ; python_version < '3'",  # marker false here
        "./wheels/other-1.0-py3-none-any.whl",
        "./src/torch",  # a directory: its version is unknown until built (left to pip)
    )

    assert direct_conflicts(requirements, TORCH) == [
        TorchConflict("torch @ https://example.invalid/torch.whl", "requirements.txt line 1"),
        TorchConflict("./wheels/torch-2.99.0-py3-none-any.whl", "requirements.txt line 2"),
    ]
