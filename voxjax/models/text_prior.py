"""Character n-gram *text prior* p(next char | previous chars) for CTC beam search.

Named "text prior" so it is never confused with the speech-to-text ``LanguageModel``. Interpolated
Kneser-Ney: the highest order uses raw counts, lower orders use continuation counts (how many
distinct characters precede an n-gram), every order is discounted by ``D_n = n1 / (n1 + 2 n2)``
from its count-of-counts, and the unigram level is interpolated with a uniform distribution over
the alphabet + end symbol, so every character has non-zero probability.

Every sentence is padded with ``order - 1`` begin symbols, so every n-gram shorter than ``order``
that ends inside a sentence has a left extension and its continuation count is well defined.
"""
from __future__ import annotations

import collections
import json
import math
import os

from voxjax import files
from voxjax.text import CHARACTERS, normalize

BOS = "\x02"  # sentence-start padding (context only, never predicted)
EOS = "\x03"  # end of sentence (predicted by end_log_prob)


class CharNGramPrior:
    """Interpolated Kneser-Ney character n-gram over ``CHARACTERS`` + end of sentence."""

    def __init__(self, order: int = 6, alphabet: str = CHARACTERS):
        """``order``: n-gram order (context = ``order - 1`` characters); ``alphabet``: symbols."""
        if order < 1:
            raise ValueError(f"text prior order must be >= 1, got {order}")
        self.order = order
        self.alphabet = alphabet
        self.counts: list[dict[str, int]] = []  # counts[n - 1]: n-gram -> (continuation) count
        self.discounts: list[float] = []
        self._cache: dict[tuple[str, str], float] = {}

    # ------------------------------------------------------------------------- training

    @property
    def vocab_size(self) -> int:
        """Predicted symbols: the alphabet plus the end of sentence."""
        return len(self.alphabet) + 1

    def fit(self, texts, normalized: bool = False) -> "CharNGramPrior":
        """Counts n-grams of ``texts`` (run through ``voxjax.text.normalize`` unless ``normalized``)."""
        n_max = self.order
        top: collections.Counter = collections.Counter()
        for text in texts:
            text = text if normalized else normalize(text)
            text = "".join(c for c in text if c in self.alphabet)
            if not text:
                continue
            padded = BOS * (n_max - 1) + text + EOS
            for end in range(n_max - 1, len(padded)):  # n-grams ending on a predicted symbol
                top[padded[end - n_max + 1:end + 1]] += 1
        if not top:
            raise ValueError("text prior: no usable training text")
        counts = [dict(top)]
        # Continuation count of an (n-1)-gram = number of distinct symbols preceding it.
        for _ in range(n_max - 1):
            lower: collections.Counter = collections.Counter()
            for gram in counts[0]:
                lower[gram[1:]] += 1
            counts.insert(0, dict(lower))
        self.counts = counts
        self.discounts = [self._discount(c) for c in counts]
        self._index()
        return self

    @staticmethod
    def _discount(counts: dict[str, int]) -> float:
        n1 = sum(1 for v in counts.values() if v == 1)
        n2 = sum(1 for v in counts.values() if v == 2)
        if n1 == 0 or n2 == 0:
            return 0.75
        return min(max(n1 / (n1 + 2 * n2), 0.1), 0.9)

    def _index(self):
        # Per context: total count and number of distinct followers (for the interpolation weight).
        self._totals, self._types = [], []
        for counts in self.counts:
            totals: collections.Counter = collections.Counter()
            types: collections.Counter = collections.Counter()
            for gram, c in counts.items():
                totals[gram[:-1]] += c
                types[gram[:-1]] += 1
            self._totals.append(dict(totals))
            self._types.append(dict(types))
        self._cache = {}

    # ------------------------------------------------------------------------- scoring

    def _prob(self, history: str, char: str) -> float:
        n = len(history) + 1
        if n == 1:
            d, total = self.discounts[0], self._totals[0].get("", 0)
            uniform = 1.0 / self.vocab_size
            if not total:
                return uniform
            c = self.counts[0].get(char, 0)
            return max(c - d, 0.0) / total + d * self._types[0][""] / total * uniform
        total = self._totals[n - 1].get(history)
        if not total:  # unseen context: back off completely
            return self._prob(history[1:], char)
        d = self.discounts[n - 1]
        c = self.counts[n - 1].get(history + char, 0)
        backoff = d * self._types[n - 1][history] / total
        return max(c - d, 0.0) / total + backoff * self._prob(history[1:], char)

    def log_prob(self, context: str, char: str) -> float:
        """Natural-log p(char | context); ``context`` is the sentence so far (only its tail is used)."""
        if not self.counts:
            raise ValueError("text prior is not fitted (call fit or load)")
        h = self.order - 1  # context characters used; short contexts are BOS-padded
        history = (BOS * h + context[-h:])[-h:] if h else ""
        key = (history, char)
        value = self._cache.get(key)
        if value is None:
            value = math.log(self._prob(history, char))
            self._cache[key] = value
        return value

    def end_log_prob(self, context: str) -> float:
        """Natural-log probability that the sentence ends after ``context``."""
        return self.log_prob(context, EOS)

    def sentence_log_prob(self, text: str) -> float:
        """Total log probability of a normalised sentence including its end."""
        return sum(self.log_prob(text[:i], c) for i, c in enumerate(text)) + self.end_log_prob(text)

    # ------------------------------------------------------------------------- persistence

    def save(self, path) -> None:
        """Writes order, alphabet, discounts and counts as JSON, atomically (temp file +
        rename, creating parent folders): a reader never sees half a prior."""
        files.write_json(path, {"order": self.order, "alphabet": self.alphabet,
                                "discounts": self.discounts, "counts": self.counts})

    @classmethod
    def load(cls, path) -> "CharNGramPrior":
        """Reads a prior written by :meth:`save`."""
        with open(os.fspath(path), encoding="utf-8") as f:
            data = json.load(f)
        prior = cls(order=int(data["order"]), alphabet=data["alphabet"])
        prior.counts = [{k: int(v) for k, v in c.items()} for c in data["counts"]]
        prior.discounts = [float(d) for d in data["discounts"]]
        prior._index()
        return prior
