"""Using a trained workdir: evaluate a split, transcribe files offline or streaming."""
from __future__ import annotations

import json
import logging
import os

import numpy as np

from voxjax import audio, checkpoint, decoding, tasks
from voxjax.data import manifest
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


def evaluate_workdir(workdir: str, split: str | None = None, beam: bool = True,
                     decode: dict | None = None, dataset: str | None = None,
                     root: str | None = None) -> dict:
    """CER/WER of the workdir's model on ``split``; writes ``eval_<split>.json`` beside it.

    ``dataset`` + ``root`` evaluate on any dataset on disk instead of the config's own (split
    default ``all``; written to ``eval_<dataset>_<split>.json``), e.g. human speech for a model
    trained on the synthetic corpus. ``decode`` overrides ``config.decode`` entries (beam_size,
    prior_weight, length_bonus). TTS and conv decoder workdirs go to
    :func:`evaluate_synthesis_workdir`.
    """
    config, task, params = load_workdir(workdir)
    if (dataset is None) != (root is None):
        raise ValueError("give both --dataset and --root, or neither")
    if config.task != "stt":
        if dataset is not None:
            raise ValueError(f"--dataset evaluates speech-to-text models; {workdir} holds "
                             f"a {config.task!r} model")
        return evaluate_synthesis_workdir(workdir, split or "test")
    split = split or ("all" if dataset else "test")
    utterances = manifest.load_manifest(dataset, root, split) if dataset else None
    for key, value in (decode or {}).items():
        config.decode[key] = value
    prior = load_prior(task, workdir) if beam else None
    beam = prior is not None
    details: list[dict] = []
    metrics = task.evaluate(params, split, beam=beam, details=details, utterances=utterances,
                            prior=prior)
    result = {"split": split, **({"dataset": dataset, "root": os.path.abspath(root)}
                                 if dataset else {}), **metrics}
    if beam:
        result.update({f"decode_{k}": v for k, v in config.decode.items()})
    name = f"eval_{dataset}_{split}.json" if dataset else f"eval_{split}.json"
    with open(os.path.join(workdir, name), "w") as f:
        json.dump({"metrics": result, "utterances": details}, f, indent=1)
    return result


class Transcriber:
    """Callable ``path -> text``: offline (beam + text prior) or streaming (greedy, chunked)."""

    def __init__(self, workdir: str, stream: bool = False, chunk_ms: int = 160,
                 beam: bool = True):
        """``beam=False``: offline greedy CTC (no text prior); streaming is always greedy."""
        self.config, self.task, self.params = load_workdir(workdir)
        if self.config.task != "stt":
            raise ValueError(f"{workdir} holds a {self.config.task!r} model, not speech-to-text")
        self.mel = self.task.mel
        self.stream = stream
        if stream:
            from voxjax.streaming import StreamingTranscriber
            self.streamer = StreamingTranscriber(self.task.model, self.params, self.mel,
                                                 chunk_ms=chunk_ms)
            self.chunk_samples = self.streamer.chunk_samples
        else:
            self.prior = load_prior(self.task, workdir) if beam else None

    def __call__(self, path: str) -> str:
        return self.transcribe_wave(audio.load_audio(path, self.mel.sample_rate), path)

    def transcribe_wave(self, wave: np.ndarray, name: str = "audio") -> str:
        """Transcript of a mono float signal at the model's sample rate."""
        if audio.is_silent(wave):  # a CTC model with a text prior can hallucinate on silence
            log.warning("%s is silent (peak below -60 dBFS): empty transcript", name)
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


def load_synthesizer(tts_workdir: str, decoder_workdir: str, chunk_frames: int = 10):
    """A :class:`voxjax.streaming.StreamingSynthesizer` from a TTS and a conv decoder workdir.

    Refuses (ValueError, one line) workdirs of the wrong task or with different mel settings.
    """
    tts = load_workdir(tts_workdir)
    decoder = load_workdir(decoder_workdir)
    return make_synthesizer(tts, decoder, chunk_frames, tts_workdir, decoder_workdir)


def make_synthesizer(tts, decoder, chunk_frames: int = 10, tts_name: str = "--tts",
                     decoder_name: str = "--decoder"):
    """Synthesizer from loaded ``(config, task, params)`` triples (see :func:`load_synthesizer`)."""
    from voxjax.streaming import StreamingSynthesizer
    (tts_config, tts_task, tts_params), (decoder_config, decoder_task, decoder_params) = tts, decoder
    if tts_config.task != "tts":
        raise ValueError(f"{tts_name} holds a {tts_config.task!r} model, not 'tts'")
    if decoder_config.task != "decoder":
        raise ValueError(f"{decoder_name} holds a {decoder_config.task!r} model, not 'decoder'")
    if tts_task.mel != decoder_task.mel:
        raise ValueError(f"mel settings differ: the TTS model makes {tts_task.mel}, the decoder "
                         f"expects {decoder_task.mel}")
    return StreamingSynthesizer(tts_task, tts_params, decoder_task.model,
                                decoder_params["generator"], chunk_frames)


def evaluate_synthesis_workdir(workdir: str, split: str = "test", decoder_workdir: str | None = None,
                               judge_workdir: str | None = None, limit: int = 100) -> dict:
    """Evaluates a TTS or conv decoder workdir on ``split``; writes ``eval_<split>.json``.

    Always: the task's own metrics (teacher-forced losses, durations; or copy-synthesis
    losses). With ``judge_workdir`` (an STT workdir) and, for TTS, ``decoder_workdir``: the
    judged comparison of :mod:`voxjax.tts_evaluation` (ASR-CER ratios and MCD against the
    ground truth; Griffin-Lim as the baseline).
    """
    from voxjax import tts_evaluation
    config, task, params = load_workdir(workdir)
    metrics = {f"model_{k}": v for k, v in task.evaluate(params, split).items()}
    systems = {}
    if config.task == "decoder":
        systems["decoder_copy"] = tts_evaluation.copy_synthesis_system(task, params)
    elif config.task == "tts" and decoder_workdir:
        decoder = load_workdir(decoder_workdir)
        systems["tts"] = tts_evaluation.tts_system(
            make_synthesizer((config, task, params), decoder, decoder_name=decoder_workdir))
        systems["decoder_copy"] = tts_evaluation.copy_synthesis_system(*decoder[1:])
    elif config.task not in ("tts", "decoder"):
        raise ValueError(f"{workdir} holds a {config.task!r} model; expected tts or decoder")
    systems["griffin_lim"] = tts_evaluation.griffin_lim_system(task.mel)
    if judge_workdir is None and decoder_workdir is None and config.task == "tts":
        systems = {}  # nothing to listen with: the model metrics only
    judged = {}
    if systems:
        judged = tts_evaluation.evaluate_synthesis(split, workdir, task.utterances(split),
                                                   task.mel, systems, judge_workdir, limit)
    result = {"split": split, **metrics, **judged}
    if not judged:
        with open(os.path.join(workdir, f"eval_{split}.json"), "w") as f:
            json.dump({"metrics": result}, f, indent=1)
    return result
