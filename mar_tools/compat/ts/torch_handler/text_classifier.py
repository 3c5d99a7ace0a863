"""``ts.torch_handler.text_classifier``: the ``text_classifier`` default handler.

Only the first request of a batch is processed (as in TorchServe, so a batch of several
requests fails the length check). The text is cleaned, tokenized, turned into unigram and
bigram ids with the vocabulary, and fed as ``model(ids, offsets=[0])`` (an ``EmbeddingBag``
model); the answer is ``[{label: probability}]`` of the softmax.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import ngrams_iterator
from ..utils.util import map_class_to_label
from ._captum import captum_attr
from .text_handler import TextHandler

logger = logging.getLogger(__name__)


class TextClassifier(TextHandler):
    """Text in, class probabilities out."""

    ngrams = 2

    def preprocess(self, data: Any) -> Any:
        """Request 0's text -> (tensor of vocabulary ids, tokens)."""
        line = data[0]
        text = line.get("data") or line.get("body")
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        text = self._remove_html_tags(text)
        text = text.lower()
        text = self._expand_contractions(text)
        text = self._remove_accented_characters(text)
        text = self._remove_punctuation(text)
        tokens = self._tokenize(text)
        ids = [self.source_vocab[token] for token in ngrams_iterator(tokens, self.ngrams)]
        return torch.as_tensor(ids, device=self.device), tokens

    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        text_tensor, _ = data
        offsets = torch.as_tensor([0], device=self.device)
        return super().inference(text_tensor, offsets)

    def postprocess(self, data: Any) -> Any:
        # Implicit-dimension softmax (dim=1 for the [1, classes] output), as TorchServe.
        return map_class_to_label(F.softmax(data).tolist(), self.mapping)

    def get_insights(self, text_preprocess: Any, _: Any, target: Any = 0) -> Any:
        """Word importances for class *target*: ``[{"importances": [...], "words": [...]}]``."""
        text_tensor, all_tokens = text_preprocess
        logger.info("input_text shape %s", len(text_tensor.shape))
        logger.info("get_insights target %s", target)
        offsets = torch.tensor([0]).to(self.device)
        all_tokens = self.get_word_token(all_tokens)
        logger.info("text_tensor tokenized shape %s", text_tensor.shape)
        reference_indices = (
            captum_attr()
            .TokenReferenceBase()
            .generate_reference(text_tensor.shape[0], device=self.device)
            .squeeze(0)
        )
        logger.info("reference indices shape %s", reference_indices.shape)
        attributions = self.lig.attribute(
            text_tensor,
            reference_indices,
            additional_forward_args=(offsets),
            return_convergence_delta=False,
            target=target,
        )
        logger.info("attributions shape %s", attributions.shape)
        attributions_sum = self.summarize_attributions(attributions)
        return [{"importances": attributions_sum.tolist(), "words": all_tokens}]
