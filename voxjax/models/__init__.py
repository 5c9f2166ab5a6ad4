"""Trainable networks: the speech-to-text ``LanguageModel``, its layers, and the text prior."""
from voxjax.models.language_model import LanguageModel
from voxjax.models.text_prior import CharNGramPrior

__all__ = ["LanguageModel", "CharNGramPrior"]
