"""CTC decoding in numpy: greedy and prefix beam search (optionally fused with the text prior).

Inputs are per-utterance log posteriors ``[T, V]`` (natural log, blank id 0, other ids map to
``CharTokenizer().symbols``) plus the number of valid frames. Outputs are label-id lists (no
blanks), to turn into text with ``CharTokenizer.decode``.
"""
from __future__ import annotations

import math

import numpy as np

from voxjax.text import CharTokenizer

NEG_INF = -math.inf
BLANK_ID = 0


def ctc_greedy(log_probs, length: int | None = None) -> list[int]:
    """Best-path decoding: argmax per frame over the first ``length`` frames, merge repeats, drop blanks."""
    log_probs = np.asarray(log_probs)
    length = log_probs.shape[0] if length is None else int(length)
    best = np.argmax(log_probs[:length], axis=-1)
    if best.size == 0:
        return []
    keep = np.ones(best.shape, bool)
    keep[1:] = best[1:] != best[:-1]  # a label repeated without a blank in between is one label
    return [int(i) for i in best[keep] if i != BLANK_ID]


def _logadd(a: float, b: float) -> float:
    # log(exp(a) + exp(b)) for python floats; faster than np.logaddexp on scalars.
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def ctc_prefix_beam_search(log_probs, length: int | None = None, beam_size: int = 8, prior=None,
                           prior_weight: float = 0.5, length_bonus: float = 1.0,
                           symbols=None, max_candidates: int = 8,
                           candidate_threshold: float = math.log(1e-4)) -> list[int]:
    """Standard CTC prefix beam search in the log domain; returns the best prefix's label ids.

    Each prefix keeps two scores: ending in blank (``pb``) and ending in its last label (``pnb``),
    so all alignments that collapse to the same prefix are summed. With a ``prior``
    (:class:`~voxjax.models.text_prior.CharNGramPrior`), each time a label extends a prefix its
    score gains ``prior_weight * prior.log_prob(prefix_chars, char) + length_bonus`` (the bonus
    offsets the prior's per-character cost); finished prefixes also get the prior's weighted
    end-of-sentence score. Without a prior no bonus is added (pure CTC posterior search).

    Speed: per frame only labels in the top ``max_candidates`` whose log-prob exceeds
    ``candidate_threshold`` are expanded, and prior scores are memoised per (prefix, char).
    ``symbols``: id -> character table (default ``CharTokenizer().symbols``).
    """
    log_probs = np.asarray(log_probs, np.float64)
    length = log_probs.shape[0] if length is None else int(length)
    symbols = CharTokenizer().symbols if symbols is None else list(symbols)
    index = {c: i for i, c in enumerate(symbols)}
    fused = prior is not None
    k = min(max_candidates, log_probs.shape[1] - 1)

    ext_cache: dict[tuple[str, str], float] = {}

    def extension(prefix: str, char: str) -> float:
        if not fused:
            return 0.0
        key = (prefix, char)
        v = ext_cache.get(key)
        if v is None:
            v = prior_weight * prior.log_prob(prefix, char) + length_bonus
            ext_cache[key] = v
        return v

    # Prefixes are kept as character strings (hashable, cheap to extend, what the prior reads).
    beams: dict[str, list[float]] = {"": [0.0, NEG_INF]}  # prefix -> [log p_blank, log p_nonblank]
    for t in range(length):
        row = log_probs[t]
        nonblank = row[1:]
        top = np.argpartition(-nonblank, k - 1)[:k] + 1 if k < nonblank.size else np.arange(1, row.size)
        cands = [(symbols[c], float(row[c])) for c in top if row[c] > candidate_threshold]
        p_blank = float(row[BLANK_ID])
        nxt: dict[str, list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _logadd(pb, pnb)
            entry = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            entry[0] = _logadd(entry[0], total + p_blank)  # blank: prefix unchanged
            last = prefix[-1] if prefix else None
            for char, p in cands:
                new = prefix + char
                target = nxt.setdefault(new, [NEG_INF, NEG_INF])
                if char == last:
                    # Repeat without blank collapses onto the same prefix; a new copy of the label
                    # needs a blank in between, so only the blank-ending mass extends.
                    entry[1] = _logadd(entry[1], pnb + p)
                    target[1] = _logadd(target[1], pb + p + extension(prefix, char))
                else:
                    target[1] = _logadd(target[1], total + p + extension(prefix, char))
        if len(nxt) > beam_size:
            ranked = sorted(nxt.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)
            beams = dict(ranked[:beam_size])
        else:
            beams = nxt

    def final(item):
        prefix, (pb, pnb) = item
        score = _logadd(pb, pnb)
        if fused:
            score += prior_weight * prior.end_log_prob(prefix)
        return score

    best = max(beams.items(), key=final)[0]
    return [index[c] for c in best]


def decode_batch(log_probs, lengths, method: str = "greedy", **beam_kwargs) -> list[list[int]]:
    """Decodes ``[B, T, V]`` log posteriors with ``lengths [B]``; ``method`` 'greedy' or 'beam'."""
    log_probs = np.asarray(log_probs)
    lengths = np.asarray(lengths)
    if method == "greedy":
        return [ctc_greedy(lp, n) for lp, n in zip(log_probs, lengths)]
    if method == "beam":
        return [ctc_prefix_beam_search(lp, n, **beam_kwargs) for lp, n in zip(log_probs, lengths)]
    raise ValueError(f"unknown decoding method {method!r}; expected 'greedy' or 'beam'")
