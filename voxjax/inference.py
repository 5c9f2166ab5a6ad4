"""Using a trained workdir: evaluate a split, transcribe files offline or streaming."""
from __future__ import annotations

import json
import logging
import os

import numpy as np

from voxjax import audio, checkpoint, decoding, tasks
from voxjax.models.text_prior import CharNGramPrior

log = logging.getLogger(__name__)
PRIOR_FILE = "text_prior.json"
PAD_FRAMES = 200  # offline transcription pads features to a multiple of this (2 s)


def load_workdir(workdir: str):
    """(config, task, params) of the latest checkpoint in ``workdir``; one-line error if none."""
    config = checkpoint.load_config(workdir)
    task = tasks.get(config)
    params = checkpoint.load_params(workdir)
    return config, task, params


def load_prior(task, workdir: str) -> CharNGramPrior | None:
    """The text prior saved beside the checkpoints, fitted from the training manifest if absent."""
    path = os.path.join(workdir, PRIOR_FILE)
    if os.path.exists(path):
        return CharNGramPrior.load(path)
    try:
        prior = task.prior
    except (OSError, ValueError) as e:  # no training manifest on this machine: greedy only
        log.warning("no text prior (%s); decoding without it", str(e).splitlines()[0])
        return None
    prior.save(path)
    return prior


def evaluate_workdir(workdir: str, split: str = "test", beam: bool = True,
                     decode: dict | None = None) -> dict:
    """CER/WER of the workdir's model on ``split``; writes ``eval_<split>.json`` beside it.

    ``decode`` overrides ``config.decode`` entries (beam_size, prior_weight, length_bonus).
    """
    config, task, params = load_workdir(workdir)
    for key, value in (decode or {}).items():
        config.decode[key] = value
    if beam:
        task._prior = load_prior(task, workdir)
        beam = task._prior is not None
    details: list[dict] = []
    metrics = task.evaluate(params, split, beam=beam, details=details)
    result = {"split": split, **metrics}
    if beam:
        result.update({f"decode_{k}": v for k, v in config.decode.items()})
    with open(os.path.join(workdir, f"eval_{split}.json"), "w") as f:
        json.dump({"metrics": result, "utterances": details}, f, indent=1)
    return result


class Transcriber:
    """Callable ``path -> text``: offline (beam + text prior) or streaming (greedy, chunked)."""

    def __init__(self, workdir: str, stream: bool = False, chunk_ms: int = 160):
        self.config, self.task, self.params = load_workdir(workdir)
        self.mel = self.task.mel
        self.stream = stream
        if stream:
            from voxjax.streaming import StreamingTranscriber
            self.streamer = StreamingTranscriber(self.task.model, self.params, self.mel,
                                                 chunk_ms=chunk_ms)
            self.chunk_samples = self.streamer.chunk_samples
        else:
            self.prior = load_prior(self.task, workdir)

    def __call__(self, path: str) -> str:
        wave = audio.load_audio(path, self.mel.sample_rate)
        if audio.is_silent(wave):  # a CTC model with a text prior can hallucinate on silence
            log.warning("%s is silent (peak below -60 dBFS): empty transcript", path)
            return ""
        if self.stream:
            session = self.streamer.session()
            for start in range(0, len(wave), self.chunk_samples):
                session.feed(wave[start:start + self.chunk_samples])
            return session.finish()
        feats = audio.log_mel(wave, self.mel)
        if len(feats) == 0:
            return ""
        # Pad to a multiple of PAD_FRAMES so a folder of files compiles a few shapes, not one each.
        padded = np.pad(feats, ((0, -len(feats) % PAD_FRAMES), (0, 0)))
        lp, lengths = self.task.log_probs(self.params, {
            "features": padded[None], "feature_lengths": np.array([len(feats)], np.int32)})
        d = self.config.decode
        if self.prior is None:
            ids = decoding.ctc_greedy(lp[0], lengths[0])
        else:
            ids = decoding.ctc_prefix_beam_search(lp[0], lengths[0], beam_size=d.beam_size,
                                                  prior=self.prior, prior_weight=d.prior_weight,
                                                  length_bonus=d.length_bonus)
        return self.task.tokenizer.decode(ids)


def load_transcriber(workdir: str, stream: bool = False, chunk_ms: int = 160) -> Transcriber:
    """A ready transcriber for a trained workdir."""
    return Transcriber(workdir, stream=stream, chunk_ms=chunk_ms)
