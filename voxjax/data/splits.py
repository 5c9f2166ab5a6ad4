"""The one implementation of ``task.utterances(split)``, shared by every task.

A task that has ``self.config`` (``config.data``, ``config.seed``) inherits
:class:`DatasetSplits` and gets ``utterances(split)``: the split's records as
:func:`voxjax.data.sources.utterances` reads them (building the synthetic corpus on first use),
loaded once per task object. The cache lives on the object, so a task that is dropped frees its
records (``functools.cache`` on a method would keep every task alive for the process).
:class:`SpeakerTable` adds the one speaker table of the tasks that know speakers (TTS, speaker,
conversion).
"""
from __future__ import annotations

import collections
import functools

import numpy as np

from voxjax.data import manifest, sources


class DatasetSplits:
    """Mixin: ``utterances(split)`` of ``self.config``'s dataset, cached per instance."""

    config: object  # the task's ConfigDict (reads ``data`` and ``seed``)

    def utterances(self, split: str) -> list[manifest.Utterance]:
        """Utterance records of one split (builds the synthetic corpus on first use)."""
        cache = self.__dict__.setdefault("_split_utterances", {})
        if split not in cache:
            cache[split] = sources.utterances(self.config.data, split, self.config.seed)
        return cache[split]


class SpeakerTable(DatasetSplits):
    """Mixin: the training speakers as a table, ``speaker_id(name)`` and per-utterance ids."""

    @functools.cached_property
    def speakers(self) -> list[str]:
        """Speaker names, the default (most frequent in training) first, then sorted.

        Read from the training manifest once and written to ``config.data.speakers``, which the
        trainer saves with every checkpoint, so a workdir runs without the corpus.
        """
        if not self.config.data.speakers:
            counts = collections.Counter(u.speaker for u in self.utterances(
                self.config.data.train_split))
            default = min(counts, key=lambda s: (-counts[s], s))
            self.config.data.speakers = tuple([default] + sorted(s for s in counts if s != default))
        return list(self.config.data.speakers)

    def speaker_id(self, name: str | None) -> int:
        """Table index of ``name`` (None = default); raises ValueError for an unknown name."""
        if name is None:
            return 0
        index = self._speaker_index.get(name)
        if index is None:
            raise ValueError(f"unknown speaker {name!r} ({len(self.speakers)} known; "
                             f"list them with --list-speakers)")
        return index

    @functools.cached_property
    def _speaker_index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.speakers)}

    def _speaker_ids(self, utts) -> np.ndarray:
        """Table ids of utterances' speakers (0, the default, for a speaker not in the table)."""
        return np.asarray([self._speaker_index.get(u.speaker, 0) for u in utts], np.int32)
