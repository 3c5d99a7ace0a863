"""``ts.torch_handler.text_handler``: base of the text handlers.

Loads the vocabulary ``source_vocab.pt`` with ``torch.load`` (so with torch >= 2.6 it must be
loadable with ``weights_only=True``: a plain ``dict`` of token -> index works, a pickled
torchtext ``Vocab`` does not, exactly as in TorchServe) and offers the text clean-up steps.
Explanations use captum's ``LayerIntegratedGradients`` on ``model.embedding``, built on first
use.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import logging
import os
import re
import string
import unicodedata
from abc import ABC
from typing import Any

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import get_tokenizer
from ..utils.util import CLEANUP_REGEX
from ._captum import captum_attr
from .base_handler import BaseHandler
from .contractions import CONTRACTION_MAP

logger = logging.getLogger(__name__)

CONTRACTIONS_PATTERN = re.compile(
    "({})".format("|".join(CONTRACTION_MAP.keys())), flags=re.IGNORECASE | re.DOTALL
)


class TextHandler(BaseHandler, ABC):
    """Vocabulary loading and text normalisation shared by text handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.tokenizer = get_tokenizer("basic_english")
        self.source_vocab: Any = None
        self.input_text: Any = None
        self._lig: Any = None
        self._embedding: Any = None
        # As TorchServe: None (not False) until initialize() has run.
        self.initialized = None  # type: ignore[assignment]

    def initialize(self, context: Any) -> None:
        """Load the model, then the vocabulary (the legacy manifest key ``sourceVocab``,
        else ``source_vocab.pt`` in the model directory)."""
        super().initialize(context)
        self.initialized = False
        legacy_vocab = self.manifest["model"].get("sourceVocab")
        self.source_vocab = torch.load(legacy_vocab or self.get_source_vocab_path(context))
        # Read now so that a model without an embedding layer fails to load, as upstream.
        self._embedding = self.model.embedding
        self.initialized = True

    @property
    def lig(self) -> Any:
        """captum ``LayerIntegratedGradients`` on the embedding layer (built on first use)."""
        if self._lig is None and self._embedding is not None:
            self._lig = captum_attr().LayerIntegratedGradients(self.model, self._embedding)
        return self._lig

    @lig.setter
    def lig(self, value: Any) -> None:
        self._lig = value

    def get_source_vocab_path(self, ctx: Any) -> str:
        """``<model_dir>/source_vocab.pt``; raises when it is missing."""
        path = os.path.join(ctx.system_properties.get("model_dir"), "source_vocab.pt")
        if os.path.isfile(path):
            return path
        raise Exception(
            "Missing the source_vocab file. Refer default handler "
            "documentation for details on using text_handler."
        )

    def _expand_contractions(self, text: str) -> str:
        """Expand contractions (``don't`` -> ``do not``) and drop remaining apostrophes."""

        def expand(match: re.Match[str]) -> str:
            found = match.group(0)
            expansion = CONTRACTION_MAP.get(found) or CONTRACTION_MAP[found.lower()]
            return found[0] + expansion[1:]

        return re.sub("'", "", CONTRACTIONS_PATTERN.sub(expand, text))

    def _remove_accented_characters(self, text: str) -> str:
        return (
            unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("utf-8", "ignore")
        )

    def _remove_html_tags(self, text: str) -> str:
        return CLEANUP_REGEX.sub("", text)

    def _remove_puncutation(self, *args: Any, **kwargs: Any) -> str:
        """The misspelled name older handlers call."""
        return self._remove_punctuation(*args, **kwargs)

    def _remove_punctuation(self, text: str) -> str:
        return text.translate(str.maketrans("", "", string.punctuation))

    def _tokenize(self, text: str) -> list[str]:
        assert self.tokenizer is not None
        return self.tokenizer(text)

    def get_word_token(self, input_tokens: list[str]) -> list[str]:
        """Tokens without the BPE space marker ``Ġ``."""
        return [token.replace("Ġ", "") for token in input_tokens]

    def summarize_attributions(self, attributions: Any) -> Any:
        """Softmax the attributions and scale them by the norm of their per-token sums."""
        attributions = F.softmax(attributions)
        attributions_sum = attributions.sum(dim=-1)
        logger.info("attributions sum shape %s", attributions_sum.shape)
        return attributions / torch.norm(attributions_sum)
