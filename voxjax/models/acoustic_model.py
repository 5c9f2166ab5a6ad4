"""The acoustic model p(mel | text): encoder, learned alignment, durations, autoregressive decoder.

Layout (tokens ``[B, N]``, log-mel ``[B, T, n_mels]`` at 10 ms, ``T`` a multiple of ``r``):

  encoder      embedding -> ``conv_layers`` x [conv k5 -> LayerNorm -> ReLU -> dropout]
               -> bidirectional LSTM -> ``h [B, N, 2H]`` (+ a projected speaker embedding)
  alignment    :class:`~voxjax.models.alignment.AlignmentEncoder` over (embedding, mel) ->
               forward-sum loss; its MAS path gives the training durations (no external aligner)
  durations    conv predictor on ``stop_gradient(h)`` -> log(1 + frames) per token
  regulation   frame ``t`` gets ``h`` of the token covering it, plus where it sits in that token
               (fraction elapsed, log duration) so the decoder knows how far along it is
  decoder      autoregressive over groups of ``r`` frames: prenet(previous group's last frame)
               ++ regulated text -> LSTM stack -> Dense(r * n_mels); teacher-forced in training
               (the LSTM input projection then runs for all steps at once), ``nn.scan`` of
               :meth:`AcousticModel.decoder_step` at inference
  postnet      ``postnet_layers`` causal convs (residual), so it streams frame by frame

Mels are modelled normalised, ``(log_mel - feature_mean) / feature_std``; outputs are denormalised.
Streaming: the text is known up front, so :meth:`encode_for_synthesis` runs once per sentence;
after that every chunk of regulated frames goes through :meth:`step` (the streaming contract,
``voxjax.models.contract``: decoder steps under ``nn.scan``, then the causal postnet) over an
explicit carry. Offline synthesis is the same step under ``contract.scan_offline``.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from voxjax.models import alignment
from voxjax.models.layers import CausalConv1D, RNNLayer, model_kwargs, rnn_zero_carry


def regulate_length(h, durations, num_frames: int, start=0):
    """Expands token features to frames ``start .. start + num_frames - 1``.

    ``h [B, N, D]``, ``durations [B, N]`` int -> ``(frames [B, T, D + 2], frame_mask [B, T])``:
    frame ``t`` gets ``h`` of the token whose span holds it, the fraction of that span elapsed,
    and ``log(1 + span)``; frames past the total duration are zero and masked out. ``start``
    (may be traced) lets a stream regulate one chunk at a time.
    """
    durations = jnp.asarray(durations, jnp.int32)
    ends = jnp.cumsum(durations, axis=1)  # [B, N]
    t = start + jnp.arange(num_frames)[None, :]
    index = jnp.sum(ends[:, None, :] <= t[..., None], axis=-1)  # tokens finished before t
    index = jnp.minimum(index, h.shape[1] - 1)
    span = jnp.take_along_axis(durations, index, axis=1).astype(jnp.float32)
    start = jnp.take_along_axis(ends, index, axis=1) - span
    mask = t < ends[:, -1:]
    position = jnp.stack([(t - start + 0.5) / jnp.maximum(span, 1.0), jnp.log1p(span)], axis=-1)
    frames = jnp.concatenate([jnp.take_along_axis(h, index[..., None], axis=1), position], -1)
    return jnp.where(mask[..., None], frames, 0.0), mask


class AcousticModel(nn.Module):
    """Text (+ speaker) -> log-mel, with learned alignment; see the module docstring."""

    vocab_size: int
    num_speakers: int = 1
    n_mels: int = 80
    embed_dim: int = 256
    conv_layers: int = 3
    encoder_hidden: int = 128  # per direction
    speaker_dim: int = 64
    duration_channels: int = 256
    prenet_dim: int = 128
    prenet_dropout: float = 0.5  # Tacotron keeps this high: the decoder must not copy y_{t-1}
    # Tacotron 2 also keeps prenet dropout on at inference; the masks then come from
    # fold_in(PRNGKey(sampling_seed), decoder step), so streaming still equals offline.
    inference_prenet_dropout: bool = False
    sampling_seed: int = 0
    decoder_hidden: int = 256
    decoder_layers: int = 2
    reduction: int = 2  # mel frames per decoder step
    postnet_channels: int = 128
    postnet_layers: int = 5
    postnet_kernel: int = 5
    dropout: float = 0.1
    alignment_temperature: float = 0.02  # see AlignmentEncoder: our mels are normalised
    feature_mean: float = -8.0
    feature_std: float = 4.0

    @classmethod
    def from_config(cls, model_config, vocab_size: int, num_speakers: int, n_mels: int):
        """Builds the model from ``config.model``; an unknown key is an error."""
        kwargs = model_kwargs(cls, model_config, exclude={"vocab_size", "num_speakers", "n_mels"})
        return cls(vocab_size=vocab_size, num_speakers=num_speakers, n_mels=n_mels, **kwargs)

    def setup(self):
        self.embedding = nn.Embed(self.vocab_size, self.embed_dim, name="embedding")
        self.encoder_convs = [nn.Conv(self.embed_dim, (5,), name=f"encoder_conv_{i}")
                              for i in range(self.conv_layers)]
        self.encoder_norms = [nn.LayerNorm(name=f"encoder_norm_{i}")
                              for i in range(self.conv_layers)]
        self.encoder_rnn = RNNLayer("lstm", self.encoder_hidden, bidirectional=True,
                                    name="encoder_rnn")
        self.speaker_embedding = nn.Embed(self.num_speakers, self.speaker_dim, name="speaker")
        self.speaker_proj = nn.Dense(2 * self.encoder_hidden, name="speaker_proj")
        self.aligner = alignment.AlignmentEncoder(temperature=self.alignment_temperature,
                                                  name="aligner")
        self.duration_convs = [nn.Conv(self.duration_channels, (3,), name=f"duration_conv_{i}")
                               for i in range(2)]
        self.duration_norms = [nn.LayerNorm(name=f"duration_norm_{i}") for i in range(2)]
        self.duration_out = nn.Dense(1, name="duration_out")
        self.prenet = [nn.Dense(self.prenet_dim, name=f"prenet_{i}") for i in range(2)]
        self.decoder_rnns = [RNNLayer("lstm", self.decoder_hidden, name=f"decoder_rnn_{i}")
                             for i in range(self.decoder_layers)]
        self.frame_out = nn.Dense(self.reduction * self.n_mels, name="frame_out")
        self.postnet = [CausalConv1D(self.postnet_channels if i < self.postnet_layers - 1
                                     else self.n_mels, self.postnet_kernel, name=f"postnet_{i}")
                        for i in range(self.postnet_layers)]
        self.drop = nn.Dropout(self.dropout)
        self.prenet_drop = nn.Dropout(self.prenet_dropout)

    # ------------------------------------------------------------------ encoder and durations
    def encode(self, tokens, token_lengths, speakers, train: bool = False):
        """``tokens [B, N]`` -> ``(h [B, N, 2H], log_durations [B, N], embedded [B, N, E])``."""
        mask = alignment.token_mask(token_lengths, tokens.shape[1])[..., None]
        embedded = self.embedding(tokens) * mask
        x = embedded
        for conv, norm in zip(self.encoder_convs, self.encoder_norms):
            x = self.drop(nn.relu(norm(conv(x))), deterministic=not train) * mask
        h = self.encoder_rnn(x, seq_lengths=token_lengths)
        h = (h + self.speaker_proj(self.speaker_embedding(speakers))[:, None, :]) * mask
        d = lax.stop_gradient(h)  # the duration loss must not reshape the encoder
        for conv, norm in zip(self.duration_convs, self.duration_norms):
            # Masked like the encoder convs: the next conv must read zeros past the last token
            # (as in an unpadded row), not this conv's bias outputs on the padding.
            d = self.drop(nn.relu(norm(conv(d))), deterministic=not train) * mask
        log_durations = self.duration_out(d)[..., 0] * mask[..., 0]
        return h, log_durations, embedded

    def predict_durations(self, log_durations, token_lengths, pace: float = 1.0):
        """Frames per token (int32, >= 1 on real tokens, 0 on padding) from predicted log(1+d)."""
        frames = jnp.round(jnp.expm1(log_durations) * pace)
        frames = jnp.maximum(frames, 1).astype(jnp.int32)
        return jnp.where(alignment.token_mask(token_lengths, frames.shape[1]), frames, 0)

    # ------------------------------------------------------------------ decoder
    def _normalise(self, mel):
        return (mel.astype(jnp.float32) - self.feature_mean) / self.feature_std

    def _prenet(self, y, train: bool, rng=None):
        for i, layer in enumerate(self.prenet):
            key = None if rng is None else jax.random.fold_in(rng, i)
            y = self.prenet_drop(nn.relu(layer(y)), deterministic=not train, rng=key)
        return y

    def _decode_teacher_forced(self, conditioning, mel_norm, train: bool):
        """All decoder steps at once from the ground-truth previous frames: ``[B, T, M]``."""
        b, t, m = mel_norm.shape
        r = self.reduction
        groups = mel_norm.reshape(b, t // r, r, m)
        previous = jnp.concatenate([jnp.zeros((b, 1, m)), groups[:, :-1, -1]], axis=1)
        x = jnp.concatenate([self._prenet(previous, train), conditioning[:, ::r]], axis=-1)
        for rnn in self.decoder_rnns:
            x = rnn(x)
        return self.frame_out(x).reshape(b, t, m)

    def _postnet(self, mel_norm):
        x = mel_norm
        for i, conv in enumerate(self.postnet):
            x = conv(x)[0]
            x = jnp.tanh(x) if i < len(self.postnet) - 1 else x
        return mel_norm + x

    def __call__(self, tokens, token_lengths, speakers, mel, mel_lengths, train: bool = False):
        """Teacher-forced training pass. Returns a dict of ``[B, ...]`` arrays:

        ``mel`` and ``mel_postnet`` (denormalised predictions), ``log_attn`` (soft alignment
        ``[B, T, N]``), ``learned_log_attn`` (the same without the diagonal prior),
        ``hard_alignment`` (MAS), ``durations`` (MAS, int32 ``[B, N]``) and ``log_durations``
        (predicted).
        """
        h, log_durations, embedded = self.encode(tokens, token_lengths, speakers, train)
        mel_norm = self._normalise(mel)
        frame_mask = jnp.arange(mel.shape[1])[None] < mel_lengths[:, None]
        mel_norm = jnp.where(frame_mask[..., None], mel_norm, 0.0)
        log_attn, learned = self.aligner(embedded, mel_norm, mel_lengths, token_lengths)
        hard = alignment.monotonic_alignment_search(log_attn, mel_lengths, token_lengths)
        durations = alignment.durations_from_alignment(hard)
        conditioning, _ = regulate_length(h, durations, mel.shape[1])
        before = self._decode_teacher_forced(conditioning, mel_norm, train)
        after = self._postnet(before)
        denorm = lambda x: x * self.feature_std + self.feature_mean  # noqa: E731
        return {"mel": denorm(before), "mel_postnet": denorm(after), "log_attn": log_attn,
                "learned_log_attn": learned, "hard_alignment": hard, "durations": durations,
                "log_durations": log_durations}

    # ------------------------------------------------------------------ streaming inference
    def encode_for_synthesis(self, tokens, token_lengths, speakers, pace: float = 1.0):
        """The text half of synthesis, once per sentence: ``(h [B, N, D], durations [B, N])``
        with predicted durations (frames, int32); :func:`regulate_length` turns them into the
        conditioning frames that :meth:`step` consumes."""
        h, log_durations, _ = self.encode(tokens, token_lengths, speakers)
        return h, self.predict_durations(log_durations, token_lengths, pace)

    def init_state(self, batch_size: int):
        """Zero decoder carry: LSTM carries, the last generated frame, postnet contexts, and
        the decoder step count (it keys inference prenet dropout)."""
        return {"rnn": tuple(rnn_zero_carry("lstm", batch_size, self.decoder_hidden)
                             for _ in range(self.decoder_layers)),
                "previous": jnp.zeros((batch_size, self.n_mels), jnp.float32),
                "step": jnp.zeros((), jnp.int32),
                "postnet": tuple(conv.zero_state(batch_size, self.n_mels if i == 0
                                                 else self.postnet_channels)
                                 for i, conv in enumerate(self.postnet))}

    def step(self, state, conditioning):
        """The streaming contract: ``conditioning [B, k, D + 2]`` (regulated text frames, ``k`` a
        multiple of ``r``) -> ``(state, log_mel [B, k, n_mels])``, decoder and causal postnet."""
        groups = conditioning[:, :: self.reduction]  # each group is keyed by its first frame
        scan = nn.scan(lambda module, carry, x: module.decoder_step(carry, x),
                       variable_broadcast="params", split_rngs={"params": False},
                       in_axes=1, out_axes=1)
        state, frames = scan(self, state, groups)  # [B, k / r, r, n_mels]
        return self.postnet_step(state, frames.reshape(conditioning.shape[0], -1, self.n_mels))

    def decoder_step(self, state, conditioning):
        """One autoregressive step: ``conditioning [B, D + 2]`` (the group's first frame) ->
        ``(state, frames [B, r, n_mels])`` normalised, before the postnet. With
        ``inference_prenet_dropout`` the masks come from ``fold_in(PRNGKey(sampling_seed),
        step)``, so a stream and an offline pass draw the same ones."""
        rng = None
        if self.inference_prenet_dropout:
            rng = jax.random.fold_in(jax.random.PRNGKey(self.sampling_seed), state["step"])
        previous = self._prenet(state["previous"], self.inference_prenet_dropout, rng)
        x = jnp.concatenate([previous, conditioning], axis=-1)
        x = x[:, None, :]
        carries = []
        for rnn, carry in zip(self.decoder_rnns, state["rnn"]):
            carry, x = rnn(x, initial_carry=carry, return_carry=True)
            carries.append(carry)
        frames = self.frame_out(x[:, 0]).reshape(x.shape[0], self.reduction, self.n_mels)
        return ({**state, "rnn": tuple(carries), "previous": frames[:, -1],
                 "step": state["step"] + 1}, frames)

    def postnet_step(self, state, frames):
        """Causal postnet on ``frames [B, k, n_mels]`` (normalised) -> denormalised log-mel."""
        x, new = frames, []
        for i, (conv, s) in enumerate(zip(self.postnet, state["postnet"])):
            x, s = conv(x, s)
            new.append(s)
            x = jnp.tanh(x) if i < len(self.postnet) - 1 else x
        out = (frames + x) * self.feature_std + self.feature_mean
        return {**state, "postnet": tuple(new)}, out
