"""The conversion acoustic model: speaker-independent content + a target speaker -> log-mel.

Content comes from the frozen causal language model (``voxjax.models.language_model``) at the
RNN's 40 ms frame rate: its per-frame CTC log-posteriors, a phonetic posteriorgram (Sun et al.,
2016; the ``ctc_upsample`` slots of one RNN frame side by side), or one RNN layer's output (a
bottleneck; the conversion task's ``vc.content``). Each content frame
becomes ``upsample`` (= the language model's subsampling, 4) mel frames of 10 ms, so RNN frame
``j`` makes mel frames ``4j .. 4j + 3``, exactly the input frames it was computed from.

Layout (content ``[B, T, C]`` at 40 ms, speaker vector ``[B, S]``, optional per-mel-frame
``energy [B, 4T]``, the log-mel frame mean of the source):
  content (-> optional Dense(``content_width``)) (+ energy, 4 values per content frame) ->
  ``conv_layers`` x [causal conv ->
  LayerNorm -> GELU] -> + Dense(speaker vector) -> ``rnn_layers`` x unidirectional GRU ->
  Dense(upsample * n_mels) -> ``[B, 4T, n_mels]`` normalised log-mel -> denormalised.

The speaker vector is one-hot over the training speakers (the task's ``vc.speaker = 'id'``,
Dense on one-hot = an embedding table) or a speaker model's unit embedding (``'embedding'``:
any voice with a reference recording).

Squeeze (``content_width = w > 0``): the content passes through a linear layer ``w`` wide
before anything else, per frame (so it streams as before). Trained to rebuild each utterance
with its own speaker given apart, a narrow squeeze has no room for the source voice beside
the words, so the voice comes from the speaker input (the bottleneck argument of AutoVC, Qian
et al., 2019); too narrow, and it drops words too.

Look-ahead (``lookahead_frames = d``): output frame ``t`` is trained to render mel frame
``t - d``, so each frame is made from content up to ``d`` (to ``d + 3``) frames past it. The
causal language model recognises a sound only after hearing some of it, so with ``d = 0`` the
start of every sound is drawn before its content has arrived. The network itself is unchanged;
the task aligns its output (``voxjax.tasks.vc``) and the converter adds ``d`` hops to its
latency (``voxjax.streaming.StreamingConverter``).

Everything is causal, so the model streams through the contract of ``voxjax.models.contract``:
``init_state(batch)``, ``step(state, chunk)`` with a chunk ``{'content': [B, k, C], 'speaker':
[B, S], 'energy': [B, 4k]}``; ``__call__`` on a whole utterance is the step from the zero
state, so chunked output equals offline output.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from voxjax.models.layers import CausalConv1D, RNNLayer, model_kwargs, rnn_zero_carry


class ConversionModel(nn.Module):
    """Causal content + speaker -> log-mel network; see the module docstring."""

    content_dim: int = 58  # per content frame: ctc_upsample x vocab (2 x 29), or rnn_hidden
    n_mels: int = 80
    upsample: int = 4  # mel frames per content frame (the language model's subsampling)
    channels: int = 256
    conv_layers: int = 2
    conv_kernel: int = 3
    rnn_hidden: int = 256
    rnn_layers: int = 2
    use_energy: bool = True  # the source's frame energy as an input (prosody, not identity)
    content_width: int = 0  # > 0: content squeezed through a linear layer this wide first
    lookahead_frames: int = 0  # output frame t renders mel frame t - lookahead_frames
    feature_mean: float = -8.0
    feature_std: float = 4.0

    @classmethod
    def from_config(cls, model_config, content_dim: int, n_mels: int, upsample: int):
        """Builds the model from ``config.model``; an unknown key is an error."""
        kwargs = model_kwargs(cls, model_config, exclude={"content_dim", "n_mels", "upsample"})
        return cls(content_dim=content_dim, n_mels=n_mels, upsample=upsample, **kwargs)

    def setup(self):
        self.squeeze = nn.Dense(self.content_width, name="squeeze") if self.content_width else None
        self.convs = [CausalConv1D(self.channels, self.conv_kernel, name=f"conv_{i}")
                      for i in range(self.conv_layers)]
        self.norms = [nn.LayerNorm(name=f"norm_{i}") for i in range(self.conv_layers)]
        self.speaker_proj = nn.Dense(self.channels, name="speaker_proj")
        self.rnns = [RNNLayer("gru", self.rnn_hidden, name=f"rnn_{i}")
                     for i in range(self.rnn_layers)]
        self.out = nn.Dense(self.upsample * self.n_mels, name="out")

    def _inputs(self, chunk):
        x = chunk["content"].astype(jnp.float32)
        if self.squeeze is not None:
            x = self.squeeze(x)
        if self.use_energy:
            b, t = x.shape[:2]
            energy = (chunk["energy"].astype(jnp.float32) - self.feature_mean) / self.feature_std
            x = jnp.concatenate([x, energy.reshape(b, t, self.upsample)], axis=-1)
        return x

    def init_state(self, batch_size: int):
        """Zero state: each causal conv's left context and each GRU's carry."""
        in_dim = ((self.content_width or self.content_dim)
                  + (self.upsample if self.use_energy else 0))
        return {"conv": tuple(conv.zero_state(batch_size, in_dim if i == 0 else self.channels)
                              for i, conv in enumerate(self.convs)),
                "rnn": tuple(rnn_zero_carry("gru", batch_size, self.rnn_hidden)
                             for _ in self.rnns)}

    def step(self, state, chunk):
        """``chunk`` (module docstring) -> ``(state, log_mel [B, upsample * k, n_mels])``."""
        x = self._inputs(chunk)
        convs, carries = [], []
        for conv, norm, s in zip(self.convs, self.norms, state["conv"]):
            x, s = conv(x, s)
            convs.append(s)
            x = nn.gelu(norm(x))
        x = x + self.speaker_proj(chunk["speaker"].astype(jnp.float32))[:, None, :]
        for rnn, c in zip(self.rnns, state["rnn"]):
            c, x = rnn(x, initial_carry=c, return_carry=True)
            carries.append(c)
        b, t = x.shape[:2]
        mel = self.out(x).reshape(b, t * self.upsample, self.n_mels)
        return ({"conv": tuple(convs), "rnn": tuple(carries)},
                mel * self.feature_std + self.feature_mean)

    def __call__(self, chunk):
        """Offline: a whole utterance from the zero state (the same computation as ``step``)."""
        return self.step(self.init_state(chunk["content"].shape[0]), chunk)[1]
