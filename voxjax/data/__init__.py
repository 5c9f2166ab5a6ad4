"""Data: utterance manifests, the grain input pipeline and SpecAugment."""
from voxjax.data.manifest import DataError, Utterance, load_manifest
from voxjax.data.pipeline import eval_batches, featurize, train_iterator

__all__ = ["DataError", "Utterance", "load_manifest", "train_iterator", "eval_batches",
           "featurize"]
