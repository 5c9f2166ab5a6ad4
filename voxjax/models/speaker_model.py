"""The speaker model: an x-vector-style embedding network, log-mel -> one vector per utterance.

Layout (log-mel ``[B, T, n_mels]`` at 10 ms, valid ``lengths``), after Snyder et al. (2018):
  fixed affine on log-mel (as in LanguageModel)
  -> frame layers: ``channels`` wide dilated 1-D convs (TDNN), each conv -> ReLU -> LayerNorm,
     masked past each row's length
  -> statistics pooling: masked mean and standard deviation over time ``[B, 2 * channels]``
  -> Dense(``embed_dim``): the embedding (what similarity and zero-shot conditioning use)
  -> additive-margin softmax over the training speakers (Wang et al., 2018): logits
     ``scale * (cos(e, w_k) - margin * [k = target])``, so speakers separate by angle and the
     cosine between two embeddings is the similarity score.

The model is utterance-level, not a streaming model: conversion computes a target speaker's
embedding once, from a reference recording, before streaming starts.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from voxjax.models.layers import model_kwargs


def l2_normalise(x, axis: int = -1, eps: float = 1e-6):
    """``x / |x|`` along ``axis`` (zero vectors stay finite)."""
    return x / jnp.maximum(jnp.linalg.norm(x, axis=axis, keepdims=True), eps)


class SpeakerModel(nn.Module):
    """TDNN + statistics pooling + embedding + cosine classifier; see the module docstring."""

    num_speakers: int = 1
    channels: int = 256  # width of every frame layer
    kernels: tuple = (5, 3, 3, 1)  # frame layers' taps ...
    dilations: tuple = (1, 2, 3, 1)  # ... and dilations (x-vector: 15 frames of context)
    embed_dim: int = 128
    margin: float = 0.2  # additive cosine margin of the training softmax
    scale: float = 30.0  # logit scale of the cosine softmax
    feature_mean: float = -8.0
    feature_std: float = 4.0

    @classmethod
    def from_config(cls, model_config, num_speakers: int) -> "SpeakerModel":
        """Builds the model from ``config.model``; an unknown key is an error."""
        kwargs = model_kwargs(cls, model_config, exclude={"num_speakers"})
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        if len(kwargs.get("kernels", cls.kernels)) != len(kwargs.get("dilations", cls.dilations)):
            raise ValueError("model.kernels and model.dilations must have the same length")
        return cls(num_speakers=num_speakers, **kwargs)

    def setup(self):
        self.frame_convs = [nn.Conv(self.channels, (k,), kernel_dilation=(d,), name=f"frame_{i}")
                            for i, (k, d) in enumerate(zip(self.kernels, self.dilations))]
        self.frame_norms = [nn.LayerNorm(name=f"frame_norm_{i}") for i in range(len(self.kernels))]
        self.embedding = nn.Dense(self.embed_dim, name="embedding")
        self.classes = self.param("classes", nn.initializers.normal(1.0),
                                  (self.num_speakers, self.embed_dim))

    def embed(self, features, lengths):
        """``features [B, T, n_mels]``, ``lengths [B]`` -> unnormalised embeddings ``[B, E]``."""
        lengths = jnp.maximum(jnp.asarray(lengths, jnp.int32), 1)
        valid = (jnp.arange(features.shape[1])[None, :] < lengths[:, None])[..., None]
        x = jnp.where(valid, (features.astype(jnp.float32) - self.feature_mean) / self.feature_std,
                      0.0)
        for conv, norm in zip(self.frame_convs, self.frame_norms):
            x = jnp.where(valid, norm(nn.relu(conv(x))), 0.0)  # zeros past the end: padding-free
        count = lengths[:, None].astype(jnp.float32)
        mean = jnp.sum(x, axis=1) / count
        var = jnp.sum(jnp.where(valid, (x - mean[:, None]) ** 2, 0.0), axis=1) / count
        return self.embedding(jnp.concatenate([mean, jnp.sqrt(var + 1e-5)], axis=-1))

    def cosines(self, embeddings):
        """Cosine of each embedding ``[B, E]`` to each training speaker's class vector: ``[B, K]``."""
        return l2_normalise(embeddings) @ l2_normalise(self.classes).T

    def __call__(self, features, lengths, speakers=None):
        """``(embeddings [B, E], logits [B, K])``; with ``speakers [B]`` (training) the target
        logit carries the margin."""
        embeddings = self.embed(features, lengths)
        cos = self.cosines(embeddings)
        if speakers is not None:
            cos = cos - self.margin * nn.one_hot(speakers, self.num_speakers)
        return embeddings, self.scale * cos
