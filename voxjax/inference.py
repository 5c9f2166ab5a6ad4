"""Using a trained workdir: load it, evaluate a speech-to-text split, transcribe, synthesise.

Settings come from the workdir's ``config.inference`` block (chunk size, greedy or beam, beam
size, text prior weight, length bonus; pace and chunk frames for TTS); keyword arguments (the
CLI's flags) only override them, on a copy. Evaluation (``voxjax.evaluation``) builds on this
module, never the other way round.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from voxjax import audio, checkpoint, decoding, registry, tasks

from voxjax.models.text_prior import CharNGramPrior
from voxjax.streaming import StreamingSynthesizer, StreamingTranscriber

log = logging.getLogger(__name__)
PAD_FRAMES = 200  # offline transcription (bidirectional models) pads features to a multiple of this


def load_workdir(workdir: str):
    """(config, task, params) of the latest checkpoint in ``workdir`` (or of a published model
    folder or name, :mod:`voxjax.registry`); one-line error if there is none."""
    config = tasks.upgrade_config(checkpoint.load_config(workdir))
    task = tasks.get(config)
    params = checkpoint.load_params(workdir)
    return config, task, params


def load_prior(task, workdir: str) -> CharNGramPrior | None:
    """The text prior saved beside the checkpoints (or shipped in a published model), fitted
    from the training manifest and saved if a workdir has none."""
    workdir = registry.locate(workdir)
    path = os.path.join(workdir, registry.PRIOR_FILE)
    if os.path.exists(path):
        return CharNGramPrior.load(path)
    if registry.is_model_dir(workdir):
        log.warning("%s ships no text prior; beam search without it", workdir)
        return None
    try:
        prior = task.prior
    except (OSError, ValueError) as e:  # no training manifest on this machine
        log.warning("no text prior (%s); beam search without it", str(e).splitlines()[0])
        return None
    prior.save(path)
    return prior


class Transcriber:
    """Callable ``path -> text`` for an STT workdir, offline or streaming, greedy or beam.

    A causal (streaming) model transcribes through :class:`StreamingTranscriber` both ways:
    offline is its step under ``lax.scan``, ``stream=True`` feeds it chunk by chunk, and the
    frame-synchronous decoder gives the same text either way. A bidirectional model has no
    step: offline only, through the task's whole-utterance forward pass.
    """

    def __init__(self, workdir: str, stream: bool = False, **overrides):
        """``overrides``: ``config.inference`` entries (chunk_ms, greedy, beam_size,
        prior_weight, length_bonus); None values keep the config's."""
        self.config, self.task, self.params = load_workdir(workdir)
        if self.config.task != "stt":
            raise ValueError(f"{workdir} holds a {self.config.task!r} model, not speech-to-text")
        self.mel = self.task.mel
        self.settings = self.task.decoding_settings(**overrides)
        self.prior = None if self.settings["greedy"] else load_prior(self.task, workdir)
        self.stream = stream
        self.streamer = None
        if self.task.model.streaming:
            self.streamer = StreamingTranscriber(self.task.model, self.params, self.mel,
                                                 self.settings["chunk_ms"], self.task.tokenizer,
                                                 self.settings, self.prior)
        elif stream:
            raise ValueError(f"{workdir} holds a bidirectional model (model.streaming=False): "
                             f"it cannot stream; transcribe without --stream")

    def __call__(self, path: str) -> str:
        return self.transcribe_wave(audio.load_audio(path, self.mel.sample_rate), path)

    def transcribe_wave(self, wave: np.ndarray, name: str = "audio") -> str:
        """Transcript of a mono float signal at the model's sample rate."""
        if audio.is_silent(wave):  # a CTC model with a text prior can hallucinate on silence
            log.warning("%s is silent (peak below -60 dBFS): empty transcript", name)
            return ""
        if self.streamer is not None and self.stream:
            session = self.streamer.session()
            for start in range(0, len(wave), self.streamer.chunk_samples):
                session.feed(wave[start:start + self.streamer.chunk_samples])
            return session.finish()
        if self.streamer is not None:
            return self.streamer.transcribe_offline(wave).text
        feats = audio.log_mel(wave, self.mel)
        if len(feats) == 0:
            return ""
        # Pad to a multiple of PAD_FRAMES so a folder of files compiles a few shapes, not one each.
        padded = np.pad(feats, ((0, -len(feats) % PAD_FRAMES), (0, 0)))
        lp, lengths = self.task.log_probs(self.params, {
            "features": padded[None], "feature_lengths": np.array([len(feats)], np.int32)})
        ids = decoding.decode(lp[0], lengths[0], self.settings, self.prior)
        return self.task.tokenizer.decode(ids)


def load_synthesizer(tts_workdir: str, decoder_workdir: str, chunk_frames: int | None = None,
                     max_chunk_frames: int | None = None) -> StreamingSynthesizer:
    """A :class:`voxjax.streaming.StreamingSynthesizer` from a TTS and a conv decoder workdir.

    Refuses (ValueError, one line) workdirs of the wrong task or with different mel settings.
    """
    tts = load_workdir(tts_workdir)
    decoder = load_workdir(decoder_workdir)
    return make_synthesizer(tts, decoder, chunk_frames, tts_workdir, decoder_workdir,
                            max_chunk_frames)


def make_synthesizer(tts, decoder, chunk_frames: int | None = None, tts_name: str = "--tts",
                     decoder_name: str = "--decoder", max_chunk_frames: int | None = None
                     ) -> StreamingSynthesizer:
    """Synthesizer from loaded ``(config, task, params)`` triples (see :func:`load_synthesizer`).

    ``chunk_frames`` (a sentence's first streamed chunk) and ``max_chunk_frames`` (where later
    chunks stop doubling) default to the TTS config's ``inference`` block; a ``chunk_frames``
    above the configured maximum streams fixed chunks of that size.
    """
    (tts_config, tts_task, tts_params), (decoder_config, decoder_task, decoder_params) = tts, decoder
    if tts_config.task != "tts":
        raise ValueError(f"{tts_name} holds a {tts_config.task!r} model, not 'tts'")
    if decoder_config.task != "decoder":
        raise ValueError(f"{decoder_name} holds a {decoder_config.task!r} model, not 'decoder'")
    if tts_task.mel != decoder_task.mel:
        raise ValueError(f"mel settings differ: the TTS model makes {tts_task.mel}, the decoder "
                         f"expects {decoder_task.mel}")
    if not decoder_task.model.causal:
        raise ValueError(f"{decoder_name} holds a non-causal conv decoder (model.causal=False): "
                         f"it cannot stream")
    chunk_frames = chunk_frames or tts_task.inference["chunk_frames"]
    max_chunk_frames = max_chunk_frames or max(chunk_frames, tts_task.inference["max_chunk_frames"])
    return StreamingSynthesizer(tts_task, tts_params, decoder_task.model,
                                decoder_params["generator"], chunk_frames, max_chunk_frames)


def load_converter(vc_workdir: str, decoder_workdir: str, chunk_ms: int | None = None,
                   stt_workdir: str | None = None):
    """A :class:`voxjax.streaming.StreamingConverter` from a ``vc`` and a conv decoder workdir.

    The content network is the vc workdir's ``vc.content_workdir`` unless ``stt_workdir`` names
    another causal STT workdir; ``chunk_ms`` None = the vc config's ``inference.chunk_ms``.
    Refuses (ValueError, one line) workdirs of the wrong task or a non-causal decoder.
    """
    from voxjax.streaming import StreamingConverter
    config = tasks.upgrade_config(checkpoint.load_config(vc_workdir))
    if config.task != "vc":
        raise ValueError(f"--vc holds a {config.task!r} model, not 'vc'")
    if stt_workdir:
        config.vc.content_workdir = stt_workdir  # a fresh copy read from disk: nothing shared
    task = tasks.get(config)
    params = checkpoint.load_params(vc_workdir)
    decoder_config, decoder_task, decoder_params = load_workdir(decoder_workdir)
    if decoder_config.task != "decoder":
        raise ValueError(f"--decoder holds a {decoder_config.task!r} model, not 'decoder'")
    if not decoder_task.model.causal:
        raise ValueError("--decoder holds a non-causal conv decoder (model.causal=False): it "
                         "cannot stream")
    if decoder_task.mel != task.mel:
        raise ValueError(f"mel settings differ: the conversion model makes {task.mel}, the "
                         f"decoder expects {decoder_task.mel}")
    return StreamingConverter(task, params, decoder_task.model, decoder_params["generator"],
                              chunk_ms)


def load_via_text_converter(stt_workdir: str, tts_workdir: str, decoder_workdir: str,
                            chunk_ms: int | None = None, min_words: int = 1):
    """A :class:`voxjax.via_text.ViaTextConverter`: the causal STT workdir decoding greedily
    (``chunk_ms`` None = its config's), the TTS + conv decoder pair speaking the words."""
    from voxjax.via_text import ViaTextConverter
    transcriber = Transcriber(stt_workdir, stream=True, greedy=True, chunk_ms=chunk_ms)
    if transcriber.streamer is None:
        raise ValueError(f"{stt_workdir} holds a bidirectional STT model: conversion via text "
                         "streams, so it needs a causal one (model.streaming=True)")
    return ViaTextConverter(transcriber.streamer, load_synthesizer(tts_workdir, decoder_workdir),
                            min_words)
