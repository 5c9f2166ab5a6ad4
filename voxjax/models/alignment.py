"""Text-to-mel alignment learned without an external aligner ("One TTS Alignment To Rule Them All",
Badlani et al., 2021, as in RAD-TTS / FastPitch 1.1).

* :class:`AlignmentEncoder` scores every (mel frame, token) pair: conv-encoded keys (tokens) and
  queries (mel frames), ``-temperature * ||q - k||^2``, plus a static beta-binomial prior that
  favours the diagonal early in training; log-softmax over tokens gives ``log_attn [B, T, N]``.
* :func:`forward_sum_loss` is the CTC loss of the token sequence ``1..N`` under those frame-wise
  token distributions: it sums over *every* monotonic alignment, so it needs no targets.
* :func:`monotonic_alignment_search` (MAS, Glow-TTS) is the Viterbi path of the same lattice: a
  hard 0/1 alignment in which every token gets at least one frame; its column sums are the
  durations the acoustic model trains its duration predictor on and regulates length with.
* :func:`binarization_loss` pulls the soft alignment towards the hard one.

Everything is jnp and jit/vmap-friendly; padding is handled through explicit lengths.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.scipy.special import gammaln

NEG = -1e9  # finite "minus infinity" keeps max/argmax and gradients NaN-free


def beta_binomial_log_prior(mel_lengths, token_lengths, num_frames: int, num_tokens: int,
                            scale: float = 1.0) -> jnp.ndarray:
    """``log P(token n | frame t)`` ``[B, T, N]``: BetaBinomial(N-1, a=s(t+1), b=s(T-t)).

    Frame ``t`` of an utterance with ``T`` frames and ``N`` tokens expects token ``~ t N / T``;
    padding positions get ``NEG``.
    """
    t = jnp.arange(num_frames, dtype=jnp.float32)[None, :, None]
    n = jnp.arange(num_tokens, dtype=jnp.float32)[None, None, :]
    big_t = jnp.asarray(mel_lengths, jnp.float32)[:, None, None]
    big_n = jnp.maximum(jnp.asarray(token_lengths, jnp.float32)[:, None, None], 1.0)
    a, b, k = scale * (t + 1.0), scale * jnp.maximum(big_t - t, 1.0), big_n - 1.0
    log_comb = gammaln(k + 1.0) - gammaln(n + 1.0) - gammaln(jnp.maximum(k - n, 0.0) + 1.0)
    log_beta = lambda x, y: gammaln(x) + gammaln(y) - gammaln(x + y)  # noqa: E731
    logp = log_comb + log_beta(n + a, k - n + b) - log_beta(a, b)
    valid = (t < big_t) & (n < big_n)
    return jnp.where(valid, logp, NEG)


def token_mask(token_lengths, num_tokens: int) -> jnp.ndarray:
    """``[B, N]`` bool, True on real tokens."""
    return jnp.arange(num_tokens)[None, :] < jnp.asarray(token_lengths)[:, None]


class AlignmentEncoder(nn.Module):
    """Frame-to-token log-attention from text embeddings and (normalised) mel frames."""

    channels: int = 256  # width of the key/query conv stacks
    attention_dim: int = 80  # space in which distances are measured
    # Scales squared distances into logits. RAD-TTS uses 0.0005 on raw log-mels; on normalised
    # mels (unit scale) that leaves the attention uniform for hundreds of steps.
    temperature: float = 0.02
    prior_scale: float = 1.0  # beta-binomial prior sharpness (0 disables the prior)

    @nn.compact
    def __call__(self, text_embedding, mel, mel_lengths, token_lengths):
        """``text_embedding [B, N, E]``, ``mel [B, T, M]`` -> ``(log_attn, learned) [B, T, N]``.

        ``log_attn`` includes the prior (it feeds the losses and MAS); ``learned`` is the same
        without the prior, i.e. what the network itself has learned (for monitoring). Padded
        tokens get ``NEG``.
        """
        keys = nn.relu(nn.Conv(self.channels, (3,), name="key_0")(text_embedding))
        keys = nn.Conv(self.attention_dim, (1,), name="key_1")(keys)
        queries = nn.relu(nn.Conv(self.channels, (3,), name="query_0")(mel))
        queries = nn.relu(nn.Conv(self.channels, (1,), name="query_1")(queries))
        queries = nn.Conv(self.attention_dim, (1,), name="query_2")(queries)
        # ||q - k||^2 expanded, so no [B, T, N, attention_dim] tensor is ever built.
        dist = (jnp.sum(queries ** 2, -1)[:, :, None] + jnp.sum(keys ** 2, -1)[:, None, :]
                - 2.0 * jnp.einsum("btd,bnd->btn", queries, keys))
        mask = token_mask(token_lengths, text_embedding.shape[1])[:, None, :]
        learned = jax.nn.log_softmax(jnp.where(mask, -self.temperature * dist, NEG), axis=-1)
        scores = learned
        if self.prior_scale > 0:
            # The prior is added before the softmax (RAD-TTS): a log-space product of the two.
            scores = learned + beta_binomial_log_prior(
                mel_lengths, token_lengths, mel.shape[1], text_embedding.shape[1],
                self.prior_scale)
        scores = jnp.where(mask, scores.astype(jnp.float32), NEG)
        return jax.nn.log_softmax(scores, axis=-1), learned


def forward_sum_loss(log_attn, mel_lengths, token_lengths, blank_log_prob: float = -1.0):
    """Per-utterance CTC loss of tokens ``1..N`` over frames, divided by ``N``: ``[B]``.

    Column 0 is a constant blank (RAD-TTS uses log-prob -1): it lets frames belong to no token,
    which keeps the loss finite while the alignment is still poor.
    """
    b, t, n = log_attn.shape
    blank = jnp.full((b, t, 1), blank_log_prob, log_attn.dtype)
    logits = jnp.concatenate([blank, log_attn], axis=-1)
    frame_pad = (jnp.arange(t)[None] >= jnp.asarray(mel_lengths)[:, None]).astype(jnp.float32)
    labels = jnp.broadcast_to(jnp.arange(1, n + 1, dtype=jnp.int32)[None], (b, n))
    label_pad = (~token_mask(token_lengths, n)).astype(jnp.float32)
    per_utt = optax.ctc_loss(logits, frame_pad, labels, label_pad, blank_id=0)
    return per_utt / jnp.maximum(jnp.asarray(token_lengths, jnp.float32), 1.0)


def monotonic_alignment_search(log_attn, mel_lengths, token_lengths) -> jnp.ndarray:
    """Hard monotonic alignment ``[B, T, N]`` (0/1 float) maximising the summed log-attention.

    Frame 0 is on token 0, the last real frame on the last real token, and each frame either
    stays on its token or moves to the next one, so every real token gets >= 1 frame (it needs
    ``T >= N``). Padded frames are all-zero rows. No gradient flows through it.
    """
    log_attn = lax.stop_gradient(log_attn.astype(jnp.float32))
    b, t, n = log_attn.shape
    mel_lengths = jnp.asarray(mel_lengths, jnp.int32)
    token_lengths = jnp.asarray(token_lengths, jnp.int32)
    values = jnp.where(token_mask(token_lengths, n)[:, None, :], log_attn, NEG)
    first = jnp.where(jnp.arange(n)[None] == 0, values[:, 0], NEG)

    def forward(best, frame_values):  # best[b, j]: best score of a path ending at token j
        from_prev = jnp.concatenate([jnp.full((b, 1), NEG), best[:, :-1]], axis=1)
        moved = from_prev > best
        return jnp.maximum(best, from_prev) + frame_values, moved

    _, moved = lax.scan(forward, first, jnp.swapaxes(values[:, 1:], 0, 1))  # [T-1, B, N]
    moved = jnp.concatenate([jnp.zeros((1, b, n), bool), moved], axis=0)  # [T, B, N]

    def backward(index, inputs):  # walks from the last frame to the first
        frame, moved_t = inputs
        real = frame < mel_lengths
        row = jax.nn.one_hot(index, n) * real[:, None]
        went_back = jnp.take_along_axis(moved_t, index[:, None], axis=1)[:, 0] & real
        return jnp.maximum(index - went_back.astype(jnp.int32), 0), row

    _, rows = lax.scan(backward, jnp.maximum(token_lengths - 1, 0),
                       (jnp.arange(t), moved), reverse=True)
    return jnp.swapaxes(rows, 0, 1)


def binarization_loss(hard, log_attn) -> jnp.ndarray:
    """Mean ``-log attn`` on the hard path's cells (scalar): sharpens the soft alignment."""
    hard = lax.stop_gradient(hard)
    return -jnp.sum(hard * log_attn) / jnp.maximum(jnp.sum(hard), 1.0)


def durations_from_alignment(hard) -> jnp.ndarray:
    """Frames per token ``[B, N]`` int32 from a hard alignment ``[B, T, N]``."""
    return jnp.sum(hard, axis=1).astype(jnp.int32)
