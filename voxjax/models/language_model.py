"""The speech-to-text network p(text | speech): conv front end (x4) + GRU/LSTM stack + CTC head.

(In this codebase "language model" means this acoustic-to-character network; the character
n-gram used in beam search is the *text prior*, see ``text_prior.py``.)

Layout, ``[B, T, n_mels]`` log-mel at 10 ms in:
  affine per frame, no utterance statistics, so streaming-safe: ``normalization='fixed'`` uses
  one mean/std for every bin; ``'global'`` per-bin statistics of the training data, held as
  (never updated) parameters so they live in the checkpoint (``FeatureNorm``)
  -> ``conv_layers`` x [stride-2 conv (kernel ``conv_kernel``) -> LayerNorm -> GELU]   (x4 for 2)
  -> ``rnn_layers`` x [GRU/LSTM (bi or uni) -> dropout]
  -> Dense(ctc_upsample * vocab_size) logits, reshaped to ``[B, ceil(T / 4) * ctc_upsample, V]``:
     the RNN runs at 40 ms, CTC gets 20 ms slots (for 2). Fast eSpeak voices speak up to one
     character per 40 ms, and CTC needs a slot per character plus blanks between repeats.

``streaming=True`` makes every conv causal and every RNN unidirectional; then ``init_state`` and
``step`` (the streaming contract, ``voxjax.models.contract``) run the network chunk by chunk with
output equal to ``__call__`` on the whole input.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from voxjax.models.layers import CausalConv1D, RNNLayer, model_kwargs, rnn_zero_carry


class FeatureNorm(nn.Module):
    """``(x - mean) / std`` per feature bin; ``mean``/``std`` are parameters set from training-data
    statistics after init (``SpeechToText.init``) and never trained (stop_gradient: zero
    gradients leave AdamW's update exactly zero for these unregularised vectors)."""

    @nn.compact
    def __call__(self, x):
        mean = self.param("mean", nn.initializers.zeros, (x.shape[-1],), jnp.float32)
        std = self.param("std", nn.initializers.ones, (x.shape[-1],), jnp.float32)
        return (x - jax.lax.stop_gradient(mean)) / jax.lax.stop_gradient(std)


class LanguageModel(nn.Module):
    """Conv + RNN + CTC speech recogniser; see the module docstring for the layout."""

    vocab_size: int = 29  # CTC outputs, blank (id 0) included
    conv_channels: int = 256  # channels of every front-end conv
    conv_layers: int = 2  # each a stride-2 conv: 2 layers = x4 subsampling
    conv_kernel: int = 5  # frames per conv output; streaming carries kernel - 2 frames per conv
    rnn_cell: str = "gru"  # gru | lstm
    rnn_hidden: int = 256  # hidden units per direction
    rnn_layers: int = 3  # stacked recurrent layers
    bidirectional: bool = True  # ignored (forced off) when streaming
    dropout: float = 0.1  # after the conv front end and every RNN layer (train only)
    ctc_upsample: int = 2  # CTC frames per RNN frame (see the module docstring)
    streaming: bool = False  # causal convs + unidirectional RNN, enables init_state/step
    # Fixed per-frame affine on log-mel (no utterance statistics, so streaming-safe): measured
    # mean/std of eSpeak speech log-mels are about -8 / 4.2 (silence sits at log(1e-6) = -13.8).
    feature_mean: float = -8.0
    feature_std: float = 4.0
    normalization: str = "fixed"  # fixed (the two floats above) | global (FeatureNorm)

    @classmethod
    def from_config(cls, model_config, vocab_size: int) -> "LanguageModel":
        """Builds the model from a ``config.model`` ConfigDict; an unknown key is an error."""
        kwargs = model_kwargs(cls, model_config, exclude={"vocab_size"})
        if kwargs.get("rnn_cell", "gru") not in ("gru", "lstm"):
            raise ValueError(f"model.rnn_cell must be 'gru' or 'lstm', got {kwargs['rnn_cell']!r}")
        if kwargs.get("normalization", "fixed") not in ("fixed", "global"):
            raise ValueError("model.normalization must be 'fixed' or 'global', got "
                             f"{kwargs['normalization']!r}")
        return cls(vocab_size=vocab_size, **kwargs)

    @property
    def subsampling(self) -> int:
        """Input frames per output frame (2 ** conv_layers)."""
        return 2 ** self.conv_layers

    @property
    def is_bidirectional(self) -> bool:
        """Whether the RNN stack looks at the future (never when streaming)."""
        return self.bidirectional and not self.streaming

    def setup(self):
        # setup (not compact) so __call__ and step share one set of submodules and parameters.
        self.convs = [CausalConv1D(self.conv_channels, self.conv_kernel, stride=2,
                                   causal=self.streaming, name=f"conv_{i}")
                      for i in range(self.conv_layers)]
        self.conv_norms = [nn.LayerNorm(name=f"conv_norm_{i}") for i in range(self.conv_layers)]
        self.rnns = [RNNLayer(self.rnn_cell, self.rnn_hidden, self.is_bidirectional,
                              name=f"rnn_{i}") for i in range(self.rnn_layers)]
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Dense(self.vocab_size * self.ctc_upsample, name="ctc_head")
        if self.normalization == "global":
            self.feature_norm = FeatureNorm(name="feature_norm")

    def _normalise(self, features):
        if self.normalization == "global":
            return self.feature_norm(features.astype(jnp.float32))
        return (features.astype(jnp.float32) - self.feature_mean) / self.feature_std

    def output_lengths(self, lengths):
        """Valid CTC frames for ``lengths`` input frames (ceil-divide per stride-2 conv, x upsample)."""
        lengths = jnp.asarray(lengths, jnp.int32)
        for _ in range(self.conv_layers):
            lengths = (lengths + 1) // 2
        return lengths * self.ctc_upsample

    def _logits(self, x):
        """RNN output ``[B, T', H]`` -> CTC logits ``[B, T' * ctc_upsample, V]``."""
        logits = self.head(x)
        return logits.reshape(x.shape[0], x.shape[1] * self.ctc_upsample, self.vocab_size)

    def __call__(self, features, lengths, train: bool = False):
        """``features [B, T, n_mels]``, ``lengths [B]`` -> ``(logits [B, T', V], out_lengths [B])``.

        ``T' = ceil(T / subsampling)``; frames past ``lengths`` are zeroed after normalisation so
        padding looks like average input, and after every conv block (so a row's outputs do not
        depend on how much padding follows it), and the RNNs get ``seq_lengths`` (the backward
        direction starts at each sequence's last valid frame). Dropout draws from the 'dropout'
        rng.
        """
        lengths = jnp.asarray(lengths, jnp.int32)
        x = _zero_past(self._normalise(features), lengths)
        for conv, norm in zip(self.convs, self.conv_norms):
            # Zero every block's output past its valid length too: the next conv reads a frame
            # or two past a row's end, and must see the zeros an unpadded row would give it,
            # not this conv's bias outputs on the padding (padding invariance, by test).
            lengths = (lengths + 1) // 2
            x = _zero_past(nn.gelu(norm(conv(x)[0])), lengths)
        rnn_lengths = lengths
        x = self.drop(x, deterministic=not train)
        for rnn in self.rnns:
            x = rnn(x, seq_lengths=rnn_lengths)
            x = self.drop(x, deterministic=not train)
        return self._logits(x), rnn_lengths * self.ctc_upsample

    # ------------------------------------------------------------------------- streaming

    def init_state(self, batch_size: int):
        """Zero streaming state: each causal conv's left context and each RNN layer's carry.

        ``{'conv': ([B, k-2, n_mels], [B, k-2, C], ...), 'rnn': (carry, ...)}``; call it through
        ``Streamer(model).init_state(params, batch)`` (n_mels is read off the first conv's
        kernel). Only for ``streaming=True`` models.
        """
        self._check_streaming()
        n_mels = self.variables["params"]["conv_0"]["conv"]["kernel"].shape[1]
        convs = tuple(conv.zero_state(batch_size, n_mels if i == 0 else self.conv_channels)
                      for i, conv in enumerate(self.convs))
        rnns = tuple(rnn_zero_carry(self.rnn_cell, batch_size, self.rnn_hidden)
                     for _ in range(self.rnn_layers))
        return {"conv": convs, "rnn": rnns}

    def encode_step(self, state, chunk_features):
        """The step up to the CTC head: ``(state, chunk_features [B, k*sub, n_mels]) -> (state,
        outputs)``, ``outputs`` holding every RNN layer's output ``[B, k, rnn_hidden]`` (the
        conversion task reads one as its bottleneck content). No dropout."""
        self._check_streaming()
        x = self._normalise(chunk_features)
        conv_states = []
        for conv, norm, s in zip(self.convs, self.conv_norms, state["conv"]):
            x, s = conv(x, s)
            conv_states.append(s)
            x = nn.gelu(norm(x))
        carries, outputs = [], []
        for rnn, c in zip(self.rnns, state["rnn"]):
            c, x = rnn(x, initial_carry=c, return_carry=True)
            carries.append(c)
            outputs.append(x)
        return {"conv": tuple(conv_states), "rnn": tuple(carries)}, tuple(outputs)

    def step(self, state, chunk_features):
        """``(state, chunk_features [B, k*sub, n_mels]) -> (state, logits [B, k*up, V])`` (no dropout)."""
        state, outputs = self.encode_step(state, chunk_features)
        return state, self._logits(outputs[-1])

    def _check_streaming(self):
        if not self.streaming:
            raise ValueError("this model is bidirectional/offline (model.streaming=False); "
                             "only a streaming model has init_state/step")


def _zero_past(x, lengths):
    """``x [B, T, C]`` with frames at or past ``lengths [B]`` set to zero."""
    valid = jnp.arange(x.shape[1])[None, :] < lengths[:, None]
    return jnp.where(valid[..., None], x, 0.0)
