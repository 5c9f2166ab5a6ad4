"""Conv decoder task: log-mel -> waveform (vocoder), trained on random crops of any dataset.

Loss (``loss``): ``loss.mel_weight * mel_l1 + loss.stft_weight * (stft_sc + stft_mag)`` between
the decoder's output and the aligned target wave (``voxjax.data.segments``), in float32. With
``config.gan.enabled`` the params are ``{'generator', 'discriminator'}`` and the loss adds
``gan.adversarial_weight * gan_generator + gan.feature_weight * gan_feature + gan_discriminator``
with the gradient routing of ``voxjax.models.discriminators`` (one optimizer, one loss); the
logged ``loss`` then includes the discriminator's term. There is no GAN warm-up
(``gan.start_step``): the loss cannot see the step, so a GAN run is adversarial from step 0.
(Warm-starting it from a non-GAN workdir would need a partial restore, which the trainer does
not do: the checkpoint has no discriminator.)

``evaluate`` reports the same reconstruction terms for copy-synthesis (features of the real
audio -> decoder) on the centre crops of a split; ``synthesize`` turns a whole log-mel into
audio aligned with the original (latency removed).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio, tasks
from voxjax.data import segments, splits
from voxjax.models import contract, spectral_losses
from voxjax.models.conv_decoder import ConvDecoder
from voxjax.models.discriminators import Discriminators, gan_losses

SYNTH_PAD_FRAMES = 100  # synthesize pads T up to a multiple of this: few shapes to compile
# ``config.inference`` keys and their defaults (see configs/decoder_synth.py).
INFERENCE_DEFAULTS = {"chunk_frames": 10}


class ConvDecoderTask(splits.DatasetSplits):
    """The decoder task: model and data from a config; loss, evaluation, examples, synthesis."""

    def __init__(self, config):
        self.config = config
        self.mel = audio.MelConfig.from_config(config.data)
        self.model = ConvDecoder.from_config(config.model, self.mel)
        gan = config.get("gan", None)
        self.gan_enabled = bool(gan is not None and gan.get("enabled", False))
        self.discriminator = Discriminators.from_config(gan) if self.gan_enabled else None
        loss = config.get("loss", {})
        self.mel_weight = float(loss.get("mel_weight", 1.0))
        self.stft_weight = float(loss.get("stft_weight", 1.0))
        self.resolutions = tuple(tuple(int(v) for v in r) for r in
                                 loss.get("stft_resolutions", spectral_losses.DEFAULT_RESOLUTIONS))
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        if self.inference["chunk_frames"] <= 0:
            raise ValueError(f"inference.chunk_frames must be positive, got "
                             f"{self.inference['chunk_frames']}")
        self._synth = jax.jit(self._synthesize)
        self._eval_metrics = jax.jit(lambda *args: self._reconstruction(*args)[0])

    # ------------------------------------------------------------------ data
    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator of random (mel, wave) crops."""
        utts = self.utterances(self.config.data.train_split)
        return segments.train_iterator(self.config, utts, self.model.latency_samples,
                                       process_index, process_count)

    # ------------------------------------------------------------------ model
    def batch_audio_seconds(self, batch) -> float:
        """Seconds of audio in a batch of fixed-size crops (throughput logging)."""
        return float(np.asarray(batch["wave"]).size) / self.mel.sample_rate

    def init(self, rng, batch):
        """``{'generator': ...}`` (plus ``'discriminator'`` with GAN) for a batch's shapes."""
        gen_rng, disc_rng = jax.random.split(rng)
        params = {"generator": self.model.init(gen_rng, jnp.asarray(batch["mel"]))["params"]}
        if self.gan_enabled:
            params["discriminator"] = self.discriminator.init(
                disc_rng, jnp.asarray(batch["wave"]))["params"]
        return params

    def _reconstruction(self, generator_params, mel, wave, weights):
        """Decoder output for ``mel`` and its reconstruction terms against ``wave``.

        The first ``model.incomplete_samples`` of each crop are left out of the losses (and of
        the returned output): there the decoder lacks frames from before the crop, which the
        target does not.
        """
        fake = self.model.apply({"params": generator_params}, mel).astype(jnp.float32)
        skip = self.model.incomplete_samples
        fake, wave = fake[:, skip:], jnp.asarray(wave, jnp.float32)[:, skip:]
        terms = spectral_losses.reconstruction_losses(fake, wave, weights, self.mel,
                                                      self.resolutions)
        return terms, fake

    def loss(self, params, batch, rng, train: bool = True):
        """Weighted reconstruction (+ GAN) loss and its terms; see the module docstring."""
        del rng, train  # no dropout or augmentation
        weights = batch["weights"]
        terms, fake = self._reconstruction(params["generator"], batch["mel"], batch["wave"],
                                           weights)
        wave = jnp.asarray(batch["wave"], jnp.float32)[:, self.model.incomplete_samples:]
        loss = (self.mel_weight * terms["mel_l1"]
                + self.stft_weight * (terms["stft_sc"] + terms["stft_mag"]))
        if self.gan_enabled:
            gan = gan_losses(self.discriminator, params["discriminator"], wave, fake, weights)
            g = self.config.gan
            loss = (loss + float(g.adversarial_weight) * gan["gan_generator"]
                    + float(g.feature_weight) * gan["gan_feature"] + gan["gan_discriminator"])
            terms.update(gan)
        return loss, terms

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, params, split: str, max_batches: int | None = None) -> dict[str, float]:
        """Copy-synthesis mel L1 and MR-STFT terms on the centre crops of ``split``."""
        utts = self.utterances(split)
        sums: dict[str, float] = {}
        rows = 0.0
        batches = segments.eval_iterator(self.config, utts, self.model.latency_samples)
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                terms = self._eval_metrics(params["generator"], batch["mel"], batch["wave"],
                                           batch["weights"])
                real = float(np.sum(batch["weights"]))
                for k, v in terms.items():  # batch means, weighted by their real rows
                    sums[k] = sums.get(k, 0.0) + float(v) * real
                rows += real
        finally:
            batches.close()
        metrics = {k: v / max(rows, 1.0) for k, v in sums.items()}
        metrics["utterances"] = rows
        return metrics

    def _synthesize(self, generator, mel):
        if not self.model.causal:  # centred convs have no step: the whole input at once
            return self.model.apply({"params": generator}, mel)
        streamer = contract.Streamer(self.model)
        state = streamer.init_state(generator, mel.shape[0])
        chunks = contract.to_chunks(mel, contract.offline_chunk(self.inference["chunk_frames"],
                                                                 SYNTH_PAD_FRAMES))
        return contract.from_chunks(contract.scan_offline(streamer.step, generator, state,
                                                          chunks)[1])

    def synthesize(self, params, mel) -> np.ndarray:
        """Offline copy-synthesis: ``mel [T, n_mels]`` -> wave ``[T * hop]`` (numpy), aligned with
        the audio the features came from (output shifted back by ``latency_samples``).

        A causal decoder runs its streaming step under ``lax.scan`` (the contract's offline path)
        over chunks of ``contract.offline_chunk(inference.chunk_frames)`` frames (about 1 s).
        ``params``: the task's params or the generator's. T is padded with silence frames to whole chunks and at least a multiple of
        ``SYNTH_PAD_FRAMES`` (covering the latency too), so the jitted decoder compiles for few
        lengths; the padding is cropped off.
        """
        generator = params["generator"] if "generator" in params else params
        mel = np.asarray(mel, np.float32)
        frames, hop = len(mel), self.mel.hop_length
        latency = self.model.latency_samples
        needed = frames + math.ceil(latency / hop)
        unit = contract.offline_chunk(self.inference["chunk_frames"], SYNTH_PAD_FRAMES)
        padded_frames = unit * max(1, math.ceil(needed / unit))
        silence = np.log(audio.LOG_FLOOR)  # what log_mel gives for digital silence
        padded = np.full((1, padded_frames, self.mel.n_mels), silence, np.float32)
        padded[0, :frames] = mel
        wave = np.asarray(self._synth(generator, jnp.asarray(padded)))[0]
        return wave[latency:latency + frames * hop]

    def write_examples(self, params, writer, step: int, count: int = 2) -> None:
        """``count`` validation utterances: real and copy-synthesized audio and log-mels."""
        for i, utt in enumerate(self.utterances(self.config.data.eval_split)[:count]):
            wave = audio.load_audio(utt.path, self.mel.sample_rate)
            mel = audio.log_mel(wave, self.mel)
            synth = self.synthesize(params, mel)
            writer.audio(step, f"example_{i}/real", wave, self.mel.sample_rate)
            writer.audio(step, f"example_{i}/synthesized", synth, self.mel.sample_rate)
            writer.image(step, f"example_{i}/log_mel_real", mel.T[::-1])
            writer.image(step, f"example_{i}/log_mel_synthesized",
                         audio.log_mel(synth, self.mel).T[::-1])


def make_task(config) -> ConvDecoderTask:
    """Registry hook: ``config.task == 'decoder'``."""
    return ConvDecoderTask(config)
