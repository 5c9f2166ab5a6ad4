"""Speech-to-text task: the language model (conv + RNN + CTC) trained on any manifest dataset."""
from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax

from voxjax import audio, decoding, evaluation, text
from voxjax.data import augment, manifest, pipeline
from voxjax.models.language_model import LanguageModel
from voxjax.models.text_prior import CharNGramPrior

log = logging.getLogger(__name__)


def ensure_corpus(config) -> None:
    """Builds the synthetic corpus at ``config.data.root`` if the config asks for it."""
    if config.data.dataset == "synth":
        from voxjax.corpus import build_corpus
        build_corpus(config.data.root, size=config.data.size, seed=config.seed)


class SpeechToText:
    """The STT task: builds model and data from a config; loss, evaluation and examples."""

    def __init__(self, config):
        self.config = config
        self.tokenizer = text.CharTokenizer()
        self.mel = audio.MelConfig.from_config(config.data)
        self.model = LanguageModel.from_config(config.model, self.tokenizer.vocab_size)
        self._prior = None
        self._forward = jax.jit(self._log_probs)

    # ------------------------------------------------------------------ data
    @functools.cache
    def utterances(self, split: str) -> list[manifest.Utterance]:
        """Utterance records of one split (builds the synthetic corpus on first use)."""
        ensure_corpus(self.config)
        return manifest.load_manifest(self.config.data.dataset, self.config.data.root, split)

    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches."""
        utts = self.utterances(self.config.data.train_split)
        return pipeline.train_iterator(self.config, utts, process_index, process_count)

    @property
    def prior(self) -> CharNGramPrior:
        """Character n-gram text prior fitted on the training transcripts."""
        if self._prior is None:
            texts = [u.text for u in self.utterances(self.config.data.train_split)]
            self._prior = CharNGramPrior(order=self.config.decode.prior_order).fit(texts)
        return self._prior

    # ------------------------------------------------------------------ model
    def init(self, rng, batch):
        """Initial parameters for a batch's shapes."""
        variables = self.model.init({"params": rng, "dropout": rng}, jnp.asarray(batch["features"]),
                                    jnp.asarray(batch["feature_lengths"]), train=False)
        return variables["params"]

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

    def _log_probs(self, params, features, lengths):
        logits, out_lengths = self.model.apply({"params": params}, features, lengths, train=False)
        return jax.nn.log_softmax(logits.astype(jnp.float32)), out_lengths

    def log_probs(self, params, batch):
        """CTC log-posteriors ``[B, T', V]`` (numpy) and their lengths for a host batch."""
        lp, lengths = self._forward(params, jnp.asarray(batch["features"]),
                                    jnp.asarray(batch["feature_lengths"]))
        return np.asarray(lp), np.asarray(lengths)

    # ------------------------------------------------------------------ evaluation
    def transcribe_batch(self, params, batch, beam: bool) -> list[tuple[str, str | None]]:
        """Greedy (and optionally beam + text prior) transcripts of the real rows of a batch."""
        lp, lengths = self.log_probs(params, batch)
        d = self.config.decode
        out = []
        for i in np.flatnonzero(batch["weights"] > 0):
            greedy = self.tokenizer.decode(decoding.ctc_greedy(lp[i], lengths[i]))
            beamed = None
            if beam:
                ids = decoding.ctc_prefix_beam_search(
                    lp[i], lengths[i], beam_size=d.beam_size, prior=self.prior,
                    prior_weight=d.prior_weight, length_bonus=d.length_bonus)
                beamed = self.tokenizer.decode(ids)
            out.append((greedy, beamed))
        return out

    def evaluate(self, params, split: str, max_batches: int | None = None, beam: bool = False,
                 details: list | None = None) -> dict[str, float]:
        """CER/WER on a split (greedy; beam + text prior too when ``beam``).

        ``details``, when given, receives one dict per utterance (path, reference, hypotheses).
        """
        utts = self.utterances(split)
        refs, greedy, beamed = [], [], []
        batches = pipeline.eval_batches(self.config, utts)
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                rows = np.flatnonzero(batch["weights"] > 0)
                for (g, bm), row in zip(self.transcribe_batch(params, batch, beam), rows):
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
        if beam:
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
