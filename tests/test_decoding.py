"""CTC greedy / prefix beam search on hand-made posteriors; text-prior fusion."""

import numpy as np
import pytest

from voxjax.decoding import ctc_greedy, ctc_prefix_beam_search
from voxjax.models import CharNGramPrior
from voxjax.text import CharTokenizer

TOK = CharTokenizer()
V = TOK.vocab_size


def posterior(rows):
    """``rows``: list of {id: prob}; the rest of each frame's mass is spread over other ids."""
    out = np.full((len(rows), V), 1e-6)
    for t, row in enumerate(rows):
        for i, p in row.items():
            out[t, i] = p
    return np.log(out / out.sum(1, keepdims=True))


def ids(text):
    return TOK.encode(text)


def test_greedy_collapses_repeats_and_blanks():
    a, b = ids("ab")
    lp = posterior([{a: 1}, {a: 1}, {0: 1}, {a: 1}, {b: 1}, {b: 1}, {0: 1}, {a: 1}])
    assert ctc_greedy(lp) == [a, a, b, a]
    assert ctc_greedy(lp, length=5) == [a, a, b]  # frames past length are ignored
    assert ctc_greedy(lp, length=0) == []


def test_beam_without_prior_matches_greedy_on_peaky_posteriors():
    rng = np.random.default_rng(0)
    best = rng.integers(0, V, size=60)
    lp = posterior([{int(i): 0.97} for i in best])
    assert ctc_prefix_beam_search(lp, 60, beam_size=4) == ctc_greedy(lp, 60)
    assert ctc_prefix_beam_search(lp, 60, beam_size=4) != []


def test_beam_finds_prefix_greedy_misses_by_path_merging():
    # Each frame: blank 0.6, 'a' 0.4. Best path is blank-blank (0.36) -> "", but the three paths
    # aa, a_, _a all collapse to "a": 0.16 + 0.24 + 0.24 = 0.64.
    (a,) = ids("a")
    lp = posterior([{0: 0.6, a: 0.4}, {0: 0.6, a: 0.4}])
    assert ctc_greedy(lp) == []
    assert ctc_prefix_beam_search(lp, beam_size=4) == [a]


def test_beam_keeps_double_letters_only_with_blank_between():
    (l,) = ids("l")
    o = ids("o")[0]
    with_blank = posterior([{l: 0.9}, {0: 0.9}, {l: 0.9}, {o: 0.9}])
    without = posterior([{l: 0.9}, {l: 0.9}, {o: 0.9}])
    assert ctc_prefix_beam_search(with_blank) == ids("llo")
    assert ctc_prefix_beam_search(without) == ids("lo")


def test_prior_fusion_flips_ambiguous_case_to_in_domain_word():
    prior = CharNGramPrior(order=4).fit(["the cat sat", "a black cat", "cat and cats", "my cat"])
    c, a, o, t = ids("caot")
    # Acoustics slightly prefer "cot"; the prior has only ever seen "cat".
    lp = posterior([{c: 0.9}, {0: 0.9}, {o: 0.5, a: 0.4}, {0: 0.9}, {t: 0.9}])
    assert ctc_prefix_beam_search(lp, beam_size=8) == ids("cot")
    assert ctc_greedy(lp) == ids("cot")
    fused = ctc_prefix_beam_search(lp, beam_size=8, prior=prior, prior_weight=0.5, length_bonus=1.0)
    assert fused == ids("cat")
