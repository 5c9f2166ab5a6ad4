"""CTC decoding in numpy: greedy and prefix beam search (optionally fused with the text prior).

Both decoders are frame-synchronous objects (``advance(frames)``, ``partial()``, ``finish()``):
a stream feeds them chunk by chunk, offline decoding (:func:`decode`) feeds every frame at once,
and the two give the same text. Inputs are log posteriors ``[k, V]`` (natural log, blank id 0,
other ids map to ``CharTokenizer().symbols``); outputs are label-id lists (no blanks), to turn
into text with ``CharTokenizer.decode``.

A long stream stays bounded: ``stable()`` says how many leading ids no later frame can change,
and ``drop(n)`` forgets the first ``n`` of them (the caller has taken them), after which
``partial()`` and ``finish()`` return only the ids after the dropped ones; the text is the same
as without dropping. ``commit(n)`` makes the first ``n`` ids of the best hypothesis stable
(the beam search drops the beams that disagree), for a stream whose beams keep disagreeing
about text long past.
"""
from __future__ import annotations

import math
import os

import numpy as np

from voxjax.text import CharTokenizer

NEG_INF = -math.inf
BLANK_ID = 0
CACHE_ENTRIES = 50_000  # prior scores memoised per beam search before the memo starts over


class GreedyCTC:
    """Frame-synchronous best-path decoding: argmax per frame, merge repeats, drop blanks.

    :meth:`advance` takes the log posteriors of the next frames (any number, e.g. one streamed
    chunk); repeats are merged across calls, so feeding a signal in pieces gives the same ids
    as feeding it whole.
    """

    def __init__(self):
        self.ids: list[int] = []
        self._last = BLANK_ID

    def advance(self, log_probs) -> None:
        """Consumes ``log_probs [k, V]`` (the next ``k`` frames)."""
        for label in np.argmax(np.asarray(log_probs), axis=-1).tolist():
            if label != self._last and label != BLANK_ID:
                self.ids.append(int(label))
            self._last = label

    def partial(self) -> list[int]:
        """The hypothesis after the frames so far."""
        return list(self.ids)

    def finish(self) -> list[int]:
        """The final hypothesis."""
        return list(self.ids)

    def stable(self) -> int:
        """Leading ids no later frame can change: all of them (best path only grows)."""
        return len(self.ids)

    def drop(self, n: int) -> None:
        """Forgets the first ``n`` ids (the merge of repeats across the cut is kept)."""
        del self.ids[:n]

    def commit(self, n: int) -> None:
        """Nothing to do: every id is already stable."""


class PrefixBeamSearch:
    """CTC prefix beam search in the log domain, frame-synchronous, optionally with a text prior.

    Each prefix keeps two scores: ending in blank (``pb``) and ending in its last label
    (``pnb``), so all alignments that collapse to the same prefix are summed. With a ``prior``
    (:class:`~voxjax.models.text_prior.CharNGramPrior`), each time a label extends a prefix its
    score gains ``prior_weight * prior.log_prob(prefix_chars, char) + length_bonus`` (the bonus
    offsets the prior's per-character cost); :meth:`finish` adds the prior's weighted
    end-of-sentence score. Without a prior no bonus is added (pure CTC posterior search).

    :meth:`advance` consumes any number of frames, so a stream feeds it chunk by chunk and
    reads :meth:`partial` after each; the search is the same frame loop either way, so a stream
    and a whole utterance give the same text.

    Speed: per frame only labels in the top ``max_candidates`` whose log-prob exceeds
    ``candidate_threshold`` are expanded, and prior scores are memoised per (the text the
    prior reads, char).
    ``symbols``: id -> character table (default ``CharTokenizer().symbols``).
    """

    def __init__(self, beam_size: int = 8, prior=None, prior_weight: float = 0.5,
                 length_bonus: float = 1.0, symbols=None, max_candidates: int = 8,
                 candidate_threshold: float = math.log(1e-4)):
        self.beam_size = beam_size
        self.prior, self.prior_weight, self.length_bonus = prior, prior_weight, length_bonus
        self.symbols = CharTokenizer().symbols if symbols is None else list(symbols)
        self._index = {c: i for i, c in enumerate(self.symbols)}
        self.max_candidates = max_candidates
        self.candidate_threshold = candidate_threshold
        self._ext_cache: dict[tuple[str, str], float] = {}
        # Prefixes are character strings (hashable, cheap to extend, what the prior reads),
        # after the dropped text, whose tail the prior still reads as context.
        self.beams: dict[str, list[float]] = {"": [0.0, NEG_INF]}  # -> [log pb, log pnb]
        self._context = ""  # the end of the dropped text: what the prior and repeats read
        # An n-gram prior reads its order's worth of characters; any other prior, all of them.
        order = getattr(prior, "order", None) if prior is not None else 1
        self._keep = None if order is None else max(1, order)

    def _tail(self, context: str, prefix: str) -> str:
        """The end of ``context + prefix`` that the prior reads."""
        if self._keep is None:
            return context + prefix
        return (prefix if len(prefix) >= self._keep else context + prefix)[-self._keep:]

    def _extension(self, prefix: str, char: str) -> float:
        if self.prior is None:
            return 0.0
        # Keyed by what the prior reads (the last characters of the whole text), so the memo
        # does not hold every long prefix a beam has been.
        tail = self._tail(self._context, prefix)
        key = (tail, char)
        v = self._ext_cache.get(key)
        if v is None:
            if len(self._ext_cache) >= CACHE_ENTRIES:  # a memo, not a record: keep it bounded
                self._ext_cache.clear()
            v = self.prior_weight * self.prior.log_prob(tail, char) + self.length_bonus
            self._ext_cache[key] = v
        return v

    def advance(self, log_probs) -> None:
        """Consumes ``log_probs [k, V]`` (natural log, blank id 0): the next ``k`` frames."""
        log_probs = np.asarray(log_probs, np.float64)
        if log_probs.size == 0:
            return
        k = min(self.max_candidates, log_probs.shape[1] - 1)
        symbols, beams = self.symbols, self.beams
        for row in log_probs:
            nonblank = row[1:]
            top = (np.argpartition(-nonblank, k - 1)[:k] + 1 if k < nonblank.size
                   else np.arange(1, row.size))
            cands = [(symbols[c], float(row[c])) for c in top if row[c] > self.candidate_threshold]
            p_blank = float(row[BLANK_ID])
            nxt: dict[str, list[float]] = {}
            for prefix, (pb, pnb) in beams.items():
                total = _logadd(pb, pnb)
                entry = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
                entry[0] = _logadd(entry[0], total + p_blank)  # blank: prefix unchanged
                last = prefix[-1] if prefix else self._context[-1:] or None
                for char, p in cands:
                    new = prefix + char
                    target = nxt.setdefault(new, [NEG_INF, NEG_INF])
                    if char == last:
                        # Repeat without blank collapses onto the same prefix; a new copy of the
                        # label needs a blank in between, so only the blank-ending mass extends.
                        entry[1] = _logadd(entry[1], pnb + p)
                        target[1] = _logadd(target[1], pb + p + self._extension(prefix, char))
                    else:
                        target[1] = _logadd(target[1], total + p + self._extension(prefix, char))
            if len(nxt) > self.beam_size:
                ranked = sorted(nxt.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)
                beams = dict(ranked[: self.beam_size])
            else:
                beams = nxt
        self.beams = beams

    def _ids(self, prefix: str) -> list[int]:
        return [self._index[c] for c in prefix]

    def partial(self) -> list[int]:
        """The best prefix so far (no end-of-sentence score: the utterance goes on)."""
        return self._ids(max(self.beams.items(), key=lambda kv: _logadd(*kv[1]))[0])

    def finish(self) -> list[int]:
        """The best complete hypothesis (with the prior's end-of-sentence score)."""
        def final(item):
            prefix, (pb, pnb) = item
            score = _logadd(pb, pnb)
            if self.prior is not None:
                score += self.prior_weight * self.prior.end_log_prob(self._context + prefix)
            return score
        return self._ids(max(self.beams.items(), key=final)[0])

    def stable(self) -> int:
        """Leading ids every beam shares: each later hypothesis extends one of the beams, so
        no frame can change them."""
        return len(os.path.commonprefix(list(self.beams)))

    def drop(self, n: int) -> None:
        """Forgets the first ``n`` ids (at most :meth:`stable`); scores are unchanged, and the
        prior keeps reading the dropped text (an n-gram prior: its last ``order`` characters,
        so memory stays bounded; a prior without an ``order``: all of it)."""
        if not n:
            return
        if n > self.stable():
            raise ValueError(f"cannot drop {n} ids: only {self.stable()} are stable")
        self._context = self._tail(self._context, next(iter(self.beams))[:n])
        self.beams = {prefix[n:]: score for prefix, score in self.beams.items()}

    def commit(self, n: int) -> None:
        """Keeps only the beams that agree with the best one on its first ``n`` ids, so that
        :meth:`stable` is at least ``n``: for a stream whose beams would otherwise disagree
        about old text for ever (its final text can then differ from an offline search,
        which would have kept them)."""
        head = max(self.beams.items(), key=lambda kv: _logadd(*kv[1]))[0][:n]
        self.beams = {p: score for p, score in self.beams.items() if p.startswith(head)}


def make_decoder(settings, prior=None):
    """A fresh frame-synchronous decoder from inference settings (an STT task's ``inference``
    block: greedy, beam_size, prior_weight, length_bonus): :class:`GreedyCTC` when
    ``settings['greedy']``, else :class:`PrefixBeamSearch` with ``prior`` (None: the pure CTC
    prefix search)."""
    if settings["greedy"]:
        return GreedyCTC()
    return PrefixBeamSearch(beam_size=int(settings["beam_size"]), prior=prior,
                            prior_weight=float(settings["prior_weight"]),
                            length_bonus=float(settings["length_bonus"]))


def decode(log_probs, length: int | None, settings, prior=None) -> list[int]:
    """The one offline decoding call: label ids of ``log_probs[:length]`` with the decoder of
    :func:`make_decoder` fed every frame at once."""
    log_probs = np.asarray(log_probs)
    decoder = make_decoder(settings, prior)
    decoder.advance(log_probs[: log_probs.shape[0] if length is None else int(length)])
    return decoder.finish()


def ctc_greedy(log_probs, length: int | None = None) -> list[int]:
    """Best-path decoding of ``log_probs[:length]`` (see :class:`GreedyCTC`)."""
    log_probs = np.asarray(log_probs)
    decoder = GreedyCTC()
    decoder.advance(log_probs[: log_probs.shape[0] if length is None else int(length)])
    return decoder.finish()


def ctc_prefix_beam_search(log_probs, length: int | None = None, **search) -> list[int]:
    """Prefix beam search over ``log_probs[:length]``; ``search``: :class:`PrefixBeamSearch`'s
    arguments (beam_size, prior, prior_weight, length_bonus, ...)."""
    log_probs = np.asarray(log_probs)
    decoder = PrefixBeamSearch(**search)
    decoder.advance(log_probs[: log_probs.shape[0] if length is None else int(length)])
    return decoder.finish()


def _logadd(a: float, b: float) -> float:
    # log(exp(a) + exp(b)) for python floats; faster than np.logaddexp on scalars.
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))
