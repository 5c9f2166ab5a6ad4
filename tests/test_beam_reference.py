"""Prefix beam search against brute force: every CTC path of a tiny alphabet, summed by label
sequence. Without pruning the search must find the exact best sequence, with and without a text
prior, fed whole or frame-synchronously in chunks."""
import itertools
import math

import numpy as np
import pytest

from voxjax.decoding import GreedyCTC, PrefixBeamSearch

SYMBOLS = ["_", "a", "b"]  # id 0 is the CTC blank


class ToyPrior:
    """A deterministic stand-in for the n-gram prior: depends on the prefix and the character."""

    def log_prob(self, prefix: str, char: str) -> float:
        return -0.4 - 0.3 * (len(prefix) % 2) - (0.9 if (prefix[-1:] + char) == "ab" else 0.0)

    def end_log_prob(self, prefix: str) -> float:
        return -0.25 * len(prefix) - (1.0 if prefix.endswith("a") else 0.0)


def collapse(path) -> str:
    out, last = [], None
    for label in path:
        if label != last and label != 0:
            out.append(SYMBOLS[label])
        last = label
    return "".join(out)


def brute_force(log_probs, prior=None, weight=0.0, bonus=0.0) -> tuple[str, dict]:
    """Exact ``log p(l | x)`` per label sequence, plus the fused prior score of the search."""
    t, v = log_probs.shape
    totals: dict[str, float] = {}
    for path in itertools.product(range(v), repeat=t):
        score = sum(log_probs[i, label] for i, label in enumerate(path))
        key = collapse(path)
        totals[key] = np.logaddexp(totals.get(key, -math.inf), score)
    scores = {}
    for seq, total in totals.items():
        if prior is not None:
            total += sum(weight * prior.log_prob(seq[:i], c) + bonus for i, c in enumerate(seq))
            total += weight * prior.end_log_prob(seq)
        scores[seq] = total
    return max(scores, key=scores.get), scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fused", [False, True], ids=["ctc", "with_prior"])
def test_unpruned_prefix_search_finds_the_exact_best_sequence(seed, fused):
    rng = np.random.default_rng(seed)
    frames = 6
    log_probs = np.log(rng.dirichlet(np.full(3, 0.7), size=frames))
    prior, weight, bonus = (ToyPrior(), 0.8, 0.5) if fused else (None, 0.0, 0.0)
    best, scores = brute_force(log_probs, prior, weight, bonus)
    ranked = sorted(scores.values(), reverse=True)
    assert ranked[0] - ranked[1] > 1e-9  # a unique optimum, so the comparison is meaningful
    search = dict(beam_size=10_000, prior=prior, prior_weight=weight, length_bonus=bonus,
                  symbols=SYMBOLS, max_candidates=3, candidate_threshold=-math.inf)
    whole = PrefixBeamSearch(**search)
    whole.advance(log_probs)
    assert "".join(SYMBOLS[i] for i in whole.finish()) == best
    # Every beam holds its sequence's exact CTC log-probability plus the fused extensions;
    # with the end-of-sentence score that is the brute-force score.
    reachable = {p: s for p, s in whole.beams.items() if np.logaddexp(*s) > -math.inf}
    assert set(reachable) == set(scores)  # nothing pruned: every possible sequence is there
    for prefix, (pb, pnb) in reachable.items():
        end = weight * prior.end_log_prob(prefix) if fused else 0.0
        assert np.logaddexp(pb, pnb) + end == pytest.approx(scores[prefix], abs=1e-9)
    chunked = PrefixBeamSearch(**search)
    for start in (0, 1, 3, 4):  # uneven chunks, as a stream delivers them
        chunked.advance(log_probs[start:{0: 1, 1: 3, 3: 4, 4: frames}[start]])
    assert chunked.finish() == whole.finish()


def test_greedy_merges_repeats_across_chunks():
    log_probs = np.log(np.array([[0.1, 0.8, 0.1]] * 3 + [[0.8, 0.1, 0.1]] + [[0.1, 0.8, 0.1]]))
    whole, split = GreedyCTC(), GreedyCTC()
    whole.advance(log_probs)
    split.advance(log_probs[:2])
    split.advance(log_probs[2:])
    assert whole.finish() == split.finish() == [1, 1]  # "a a": the blank separates the repeats
