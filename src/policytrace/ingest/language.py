"""Language identification with py3langid's model, scored only as far as a decision needs."""

from __future__ import annotations

import math
import unicodedata
from functools import cache
from typing import Any

import numpy as np


class LanguageScorer:
    """py3langid's naive Bayes model (`LanguageIdentifier`): the likeliest language and its lead.

    The languages and scores are those of py3langid's `rank` and `classify` (tests/test_ingest.py
    compares them), at about two thirds of the cost (~0.45 ms for 400 characters, of which the
    byte walk is ~0.2 ms):

    - the feature table is scored in float32: py3langid keeps it in float16 and converts the rows
      it reads at every call (the products are float32 either way, so the scores are the same);
    - duplicate labels (aliases of one language) are merged with array operations, and only the
      best score and the runner-up's are read, where `rank` sorts all ~140 labels in Python.
    """

    def __init__(self, identifier: Any) -> None:
        from py3langid.langid import RAW_FLOOR, visit_counts

        self._visit_counts = visit_counts
        self._floor = np.float32(RAW_FLOOR)
        self._nextmove = identifier.tk_nextmove
        self._rowbase = [row << 8 for row in identifier.tk_row]
        self._output = identifier.tk_output
        self._table = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
        self._prior = identifier.nb_pc
        self.labels: list[str] = list(identifier.nb_classes)
        # A label's first column keeps the best score of its columns; the others are masked.
        first: dict[str, int] = {}
        pairs = []
        for column, label in enumerate(self.labels):
            if label in first:
                pairs.append((first[label], column))
            else:
                first[label] = column
        self._alias_first = np.array([i for i, _ in pairs], dtype=np.intp)
        self._alias_other = np.array([j for _, j in pairs], dtype=np.intp)

    def scores(self, text: str) -> np.ndarray:
        """One log-likelihood per column (py3langid's raw scores, aliases merged into their first column)."""
        if text.isupper():
            text = text.lower()
        data = unicodedata.normalize("NFC", text).encode("utf-8", errors="surrogatepass")
        visits = self._visit_counts(self._nextmove, self._rowbase, self._output, data)
        if not visits:
            return np.full(len(self.labels), self._floor, dtype=np.float32)
        features = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
        counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
        scores = np.log1p(counts) @ self._table[features] + self._prior
        if len(self._alias_other):
            np.maximum.at(scores, self._alias_first, scores[self._alias_other])
            scores[self._alias_other] = self._floor
        return scores

    def best_with_lead(self, text: str) -> tuple[str, float]:
        """The likeliest language and its lead over the runner-up in log-likelihood (as
        `rank(text)[0][0]` and `rank(text)[0][1] - rank(text)[1][1]`)."""
        scores = self.scores(text)
        best = int(scores.argmax())  # the first of equal scores, as rank's stable sort
        best_score = float(scores[best])
        scores[best] = -math.inf
        return self.labels[best], best_score - float(scores.max())

    def best(self, text: str) -> str:
        """The likeliest language (as py3langid's `classify(text)[0]`)."""
        return self.labels[int(self.scores(text).argmax())]


@cache
def language_scorer() -> LanguageScorer:
    """The scorer of the model that ships inside py3langid (loaded once per process, ~0.8 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageScorer(LanguageIdentifier.from_model_file(MODEL_FILE))
