"""Speech-to-text task: the language model (conv + RNN + CTC) trained on any manifest dataset."""
from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax

from voxjax import audio, decoding, evaluation, streaming, tasks, text
from voxjax.data import augment, manifest, pipeline, sources, splits
from voxjax.models import contract
from voxjax.models.language_model import LanguageModel
from voxjax.models.text_prior import CharNGramPrior

log = logging.getLogger(__name__)


STATS_UTTERANCES = 256  # training utterances sampled for the global feature statistics
# ``config.inference`` keys and their defaults (see configs/stt_synth.py).
INFERENCE_DEFAULTS = {"chunk_ms": 160, "greedy": False, "beam_size": 8, "prior_order": 6,
                      "prior_weight": 0.5, "length_bonus": 1.0}


class SpeechToText(splits.DatasetSplits):
    """The STT task: builds model and data from a config; loss, evaluation and examples."""

    def __init__(self, config):
        self.config = config
        self.tokenizer = text.CharTokenizer()
        self.mel = audio.MelConfig.from_config(config.data)
        self.model = LanguageModel.from_config(config.model, self.tokenizer.vocab_size)
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        self._prior = None
        self._forward = jax.jit(self.posteriors)
        if self.model.streaming:  # offline = the streaming step under lax.scan
            self.chunk_frames = streaming.chunk_samples(
                self.model, self.mel, self.inference["chunk_ms"]) // self.mel.hop_length
            self._streamer = contract.Streamer(self.model)

    # ------------------------------------------------------------------ data
    @functools.cached_property
    def _training_data(self) -> tuple[list[manifest.Utterance], np.ndarray]:
        return sources.training_utterances(self.config.data, self.config.seed)

    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches."""
        utts, rates = self._training_data
        return pipeline.train_iterator(self.config, utts, process_index, process_count,
                                       rates=rates)

    @property
    def prior(self) -> CharNGramPrior:
        """Character n-gram text prior fitted on the transcripts the config trains on."""
        if self._prior is None:
            texts = [u.text for u in self._training_data[0]]
            self._prior = CharNGramPrior(order=self.inference["prior_order"]).fit(texts)
        return self._prior

    # ------------------------------------------------------------------ model
    def init(self, rng, batch):
        """Initial parameters for a batch's shapes (with ``model.normalization='global'``, the
        feature statistics of the training data, which the checkpoint then keeps)."""
        variables = self.model.init({"params": rng, "dropout": rng}, jnp.asarray(batch["features"]),
                                    jnp.asarray(batch["feature_lengths"]), train=False)
        params = dict(variables["params"])
        if self.model.normalization == "global":
            mean, std = self.feature_statistics
            params["feature_norm"] = {"mean": jnp.asarray(mean), "std": jnp.asarray(std)}
        return params

    @functools.cached_property
    def feature_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-bin log-mel mean and std over (up to) 256 training utterances, drawn with the
        epoch's mixing rates from a generator seeded by ``config.seed``."""
        utts, rates = self._training_data
        rng = np.random.default_rng([int(self.config.seed) % 2**63, 11])
        count = min(STATS_UTTERANCES, len(utts))
        chosen = rng.choice(len(utts), size=count, replace=False, p=rates / rates.sum())
        cache = pipeline.feature_cache_dir(self.config)
        feats = np.concatenate([pipeline.featurize(utts[i], self.mel, cache) for i in chosen])
        return feats.mean(0).astype(np.float32), np.maximum(feats.std(0), 1e-3).astype(np.float32)

    def loss(self, params, batch, rng, train: bool = True):
        """Per-character CTC loss averaged over utterances, and its metrics."""
        aug_rng, dropout_rng = jax.random.split(rng)
        features = batch["features"]
        if train:
            a = self.config.data.augment
            features = augment.spec_augment(aug_rng, features, batch["feature_lengths"],
                                            freq_masks=a.freq_masks, freq_width=a.freq_width,
                                            time_masks=a.time_masks, time_width=a.time_width)
        logits, out_lengths = self.model.apply({"params": params}, features,
                                               batch["feature_lengths"], train=train,
                                               rngs={"dropout": dropout_rng})
        logit_pad = (jnp.arange(logits.shape[1])[None] >= out_lengths[:, None]).astype(jnp.float32)
        label_pad = (jnp.arange(batch["labels"].shape[1])[None]
                     >= batch["label_lengths"][:, None]).astype(jnp.float32)
        per_utt = optax.ctc_loss(logits, logit_pad, batch["labels"], label_pad, blank_id=0)
        # Normalising by label length keeps long and short buckets on one scale; the mean over
        # equal-size device shards makes lax.pmean give exactly the global mean.
        chars = jnp.maximum(batch["label_lengths"], 1).astype(jnp.float32)
        weights = batch["weights"]
        loss = jnp.sum(per_utt / chars * weights) / jnp.maximum(jnp.sum(weights), 1.0)
        return loss, {"ctc_per_char": loss, "frames": jnp.mean(out_lengths.astype(jnp.float32))}

    def posteriors(self, params, features, lengths):
        """CTC log-posteriors ``[B, T', V]`` and their lengths, in jnp (traceable: the conversion
        task runs it inside its loss as the frozen content network)."""
        if not self.model.streaming:  # bidirectional: no step, the whole utterance at once
            logits, out_lengths = self.model.apply({"params": params}, features, lengths,
                                                   train=False)
            return jax.nn.log_softmax(logits.astype(jnp.float32)), out_lengths
        pad = -features.shape[1] % self.chunk_frames  # causal: padding cannot reach back
        features = jnp.pad(features, ((0, 0), (0, pad), (0, 0)))
        state = self._streamer.init_state(params, features.shape[0])
        _, logits = contract.scan_offline(self._streamer.step, params, state,
                                          contract.to_chunks(features, self.chunk_frames))
        logits = contract.from_chunks(logits).astype(jnp.float32)
        return jax.nn.log_softmax(logits), self.model.output_lengths(lengths)

    def log_probs(self, params, batch):
        """CTC log-posteriors ``[B, T', V]`` (numpy) and their lengths for a host batch.

        A streaming model runs its streaming step over ``inference.chunk_ms`` chunks under
        ``lax.scan`` (the offline path of the streaming contract); a bidirectional one, which
        has no step, runs ``__call__`` on the whole batch."""
        lp, lengths = self._forward(params, jnp.asarray(batch["features"]),
                                    jnp.asarray(batch["feature_lengths"]))
        return np.asarray(lp), np.asarray(lengths)

    # ------------------------------------------------------------------ evaluation
    def decoding_settings(self, **overrides) -> dict:
        """``inference`` settings with ``overrides`` (None values skipped): a new dict."""
        return tasks.inference_settings(self.config, INFERENCE_DEFAULTS, overrides)

    def transcribe_batch(self, params, batch, settings: dict | None = None,
                         prior: CharNGramPrior | None = None) -> list[tuple[str, str | None]]:
        """``(greedy, decoded)`` transcripts of the real rows of a batch; ``decoded`` is the
        beam search's (``settings``, default :attr:`inference`; ``prior`` default the task's
        own) or None when the settings say greedy."""
        settings = settings or self.inference
        if not settings["greedy"] and prior is None:
            prior = self.prior
        lp, lengths = self.log_probs(params, batch)
        out = []
        for i in np.flatnonzero(batch["weights"] > 0):
            greedy = self.tokenizer.decode(decoding.ctc_greedy(lp[i], lengths[i]))
            beamed = None
            if not settings["greedy"]:
                beamed = self.tokenizer.decode(decoding.decode(lp[i], lengths[i], settings, prior))
            out.append((greedy, beamed))
        return out

    def evaluate(self, params, split: str, max_batches: int | None = None,
                 settings: dict | None = None, details: list | None = None,
                 utterances: list[manifest.Utterance] | None = None,
                 prior: CharNGramPrior | None = None) -> dict[str, float]:
        """CER/WER on a split: greedy always, and the beam search (``<metric>_beam``) unless
        ``settings`` (default: greedy only, cheap for in-training evals) say greedy.

        ``utterances`` replaces the split's (any dataset: see ``voxjax eval --dataset``);
        ``details``, when given, receives one dict per utterance (path, reference, hypotheses).
        """
        utts = self.utterances(split) if utterances is None else utterances
        settings = settings or self.decoding_settings(greedy=True)
        refs, greedy, beamed = [], [], []
        batches = pipeline.eval_batches(self.config, utts)
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                rows = np.flatnonzero(batch["weights"] > 0)
                for (g, bm), row in zip(self.transcribe_batch(params, batch, settings, prior),
                                        rows):
                    utt = utts[int(batch["index"][row])]
                    refs.append(text.normalize(utt.text))
                    greedy.append(g)
                    beamed.append(bm)
                    if details is not None:
                        details.append({"path": utt.path, "speaker": utt.speaker,
                                        "reference": refs[-1], "greedy": g, "beam": bm})
        finally:
            batches.close()
        metrics = {f"{k}": v for k, v in evaluation.error_rates(refs, greedy).items()}
        if not settings["greedy"]:
            metrics.update({f"{k}_beam": v for k, v in evaluation.error_rates(refs, beamed).items()})
        metrics["utterances"] = float(len(refs))
        return metrics

    def write_examples(self, params, writer, step: int) -> None:
        """One validation utterance to TensorBoard: audio, log-mel, CTC posteriors, transcript."""
        utt = self.utterances(self.config.data.eval_split)[0]
        wave = audio.load_audio(utt.path, self.mel.sample_rate)
        feats = audio.log_mel(wave, self.mel)
        lp, lengths = self.log_probs(params, {"features": feats[None],
                                              "feature_lengths": np.array([len(feats)], np.int32)})
        hyp = self.tokenizer.decode(decoding.ctc_greedy(lp[0], lengths[0]))
        writer.audio(step, "example/audio", wave, self.mel.sample_rate)
        writer.image(step, "example/log_mel", feats.T[::-1])
        writer.image(step, "example/ctc_posteriors", np.exp(lp[0, : lengths[0]]).T[::-1])
        writer.text(step, "example/transcript", f"ref: {text.normalize(utt.text)}\nhyp: {hyp}")


def make_task(config) -> SpeechToText:
    """Registry hook: ``config.task == 'stt'``."""
    return SpeechToText(config)
