"""The one implementation of ``task.utterances(split)``, shared by every task.

A task that has ``self.config`` (``config.data``, ``config.seed``) inherits
:class:`DatasetSplits` and gets ``utterances(split)``: the split's records as
:func:`voxjax.data.sources.utterances` reads them (building the synthetic corpus on first use),
loaded once per task object. The cache lives on the object, so a task that is dropped frees its
records (``functools.cache`` on a method would keep every task alive for the process).
"""
from __future__ import annotations

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
