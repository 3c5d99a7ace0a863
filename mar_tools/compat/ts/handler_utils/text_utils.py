"""``ts.handler_utils.text_utils``: the ``basic_english`` tokenizer and n-gram iterator.

TorchServe ships these (torchtext-free) for its text handlers; the normalization rules below
are the same, so token ids, and so predictions, match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

# (pattern, replacement) applied in order by the basic_english normalization.
_NORMALIZATION = [
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    )
]


def ngrams_iterator(token_list: list[str], ngrams: int) -> Iterator[str]:
    """Yield every token, then every n-gram for n = 2..*ngrams* (space-joined)."""
    yield from token_list
    for n in range(2, ngrams + 1):
        for gram in zip(*[token_list[i:] for i in range(n)], strict=False):
            yield " ".join(gram)


def _basic_english_normalize(line: str) -> list[str]:
    line = line.lower()
    for pattern, replacement in _NORMALIZATION:
        line = pattern.sub(replacement, line)
    return line.split()


def _split_tokenizer(text: str) -> list[str]:
    return text.split()


def get_tokenizer(
    tokenizer: str | Callable[[str], list[str]] | None, language: str = "en"
) -> Callable[[str], list[str]] | None:
    """``None`` -> whitespace split; ``"basic_english"`` -> normalize then split.

    Anything else gives None, as in TorchServe (which dropped torchtext's other tokenizers).
    """
    if tokenizer is None:
        return _split_tokenizer
    if tokenizer != "basic_english":
        return None
    if language == "en":
        return _basic_english_normalize
    raise ValueError("Basic normalization is only available for Enlish(en)")
