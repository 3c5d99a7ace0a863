"""``ts.torch_handler.text_classifier``: the ``text_classifier`` default handler.

Only the first request of a batch is processed (as in TorchServe, so a batch of several
requests fails the length check). The text is cleaned, tokenized, turned into unigram and
bigram ids with the vocabulary, and fed as ``model(ids, offsets=[0])`` (an ``EmbeddingBag``
model); the answer is ``[{label: probability}]`` of the softmax.
"""

from __future__ import annotations

import logging
import operator
from typing import Any

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import ngrams_iterator
from ..utils.util import map_class_to_label
from ._captum import captum_attr
from .text_handler import TextHandler

logger = logging.getLogger(__name__)


def _request_text(row: Any) -> Any:
    """The text of a request row (its data, else its body), decoded when it is bytes."""
    payload = row.get("data") or row.get("body")
    return payload.decode("utf-8") if isinstance(payload, (bytes, bytearray)) else payload


_lowercase = operator.methodcaller("lower")


class TextClassifier(TextHandler):
    """Text in, class probabilities out."""

    ngrams = 2

    def preprocess(self, data: Any) -> Any:
        """Request 0's text -> (tensor of vocabulary ids, tokens).

        Clean-up, in this order: HTML tags removed, lower case, contractions expanded,
        accents and punctuation removed; then ``basic_english`` tokens, unigrams and bigrams.
        """
        cleaned = _request_text(data[0])
        for step in (
            self._remove_html_tags,
            _lowercase,
            self._expand_contractions,
            self._remove_accented_characters,
            self._remove_punctuation,
        ):
            cleaned = step(cleaned)
        tokens = self._tokenize(cleaned)
        vocabulary = self.source_vocab
        ids = [vocabulary[gram] for gram in ngrams_iterator(tokens, self.ngrams)]
        return torch.as_tensor(ids, device=self.device), tokens

    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the model on the ids with a single bag starting at offset 0."""
        ids, _tokens = data
        return super().inference(ids, torch.as_tensor([0], device=self.device))

    def postprocess(self, data: Any) -> Any:
        # Implicit-dimension softmax (dim=1 for the [1, classes] output), as TorchServe.
        return map_class_to_label(F.softmax(data).tolist(), self.mapping)

    def get_insights(self, text_preprocess: Any, _: Any, target: Any = 0) -> Any:
        """Word importances for class *target*: ``[{"importances": [...], "words": [...]}]``."""
        ids, tokens = text_preprocess
        # The log lines are TorchServe's, in its order.
        logger.info("input_text shape %s", len(ids.shape))
        logger.info("get_insights target %s", target)
        bag_start = torch.tensor([0]).to(self.device)
        words = self.get_word_token(tokens)
        logger.info("text_tensor tokenized shape %s", ids.shape)
        baseline = (
            captum_attr().TokenReferenceBase().generate_reference(ids.shape[0], device=self.device)
        )
        baseline = baseline.squeeze(0)
        logger.info("reference indices shape %s", baseline.shape)
        scores = self.lig.attribute(
            ids,
            baseline,
            additional_forward_args=bag_start,
            return_convergence_delta=False,
            target=target,
        )
        logger.info("attributions shape %s", scores.shape)
        return [{"importances": self.summarize_attributions(scores).tolist(), "words": words}]
