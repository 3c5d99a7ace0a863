"""Byte counts as every command spells them."""

from __future__ import annotations

import pytest

from mar_tools.core.sizes import human_size


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024**2 - 1, "1024.0 KiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**4, "3.0 TiB"),
        (2048 * 1024**4, "2048.0 TiB"),
    ],
)
def test_human_size_uses_the_largest_binary_unit(count: int, text: str) -> None:
    assert human_size(count) == text
