"""Judging synthesised speech against the corpus audio of the same sentences and voices.

For each held-out utterance, every *system* turns it into a waveform:

  ground_truth   the corpus wav itself
  tts            acoustic model + conv decoder from the text and the utterance's speaker
  decoder_copy   conv decoder on the ground-truth log-mel (copy synthesis)
  griffin_lim    librosa Griffin-Lim (32 iterations) on the ground-truth log-mel

Every *judge* (this project's STT model; pocketsphinx when the ``eval`` extra is installed)
transcribes every system's audio. The figure of merit is a system's CER divided by the same
judge's CER on the ground truth (the corpus voices are robotic, so absolute CERs say little).
Mel-cepstral distortion against the ground truth (DTW-aligned, see
:func:`voxjax.evaluation.metrics.mel_cepstral_distortion`) is reported beside it, with DNSMOS
(naturalness, the ``eval`` extra) and each system's duration against the recordings'.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

import numpy as np
from tqdm import tqdm

from voxjax import audio, files, inference, registry, text
from voxjax.evaluation import judges as judges_lib, metrics
from voxjax.evaluation.judges import Judge
from voxjax.data import manifest
from voxjax.data.manifest import Utterance

log = logging.getLogger(__name__)

System = Callable[[Utterance, np.ndarray], np.ndarray]  # (utterance, ground-truth wave) -> wave


def copy_synthesis_system(decoder_task, params) -> System:
    """Copy synthesis: the conv decoder on the ground-truth log-mel (aligned, latency removed)."""
    return lambda utt, wave: decoder_task.synthesize(params, audio.log_mel(wave, decoder_task.mel))


def griffin_lim_system(mel_cfg: audio.MelConfig, n_iter: int = 32) -> System:
    """Griffin-Lim on the ground-truth log-mel (the untrained baseline)."""
    return lambda utt, wave: metrics.griffin_lim(audio.log_mel(wave, mel_cfg), mel_cfg, n_iter)


def tts_system(synthesizer, pace: float | None = None) -> System:
    """Text (and the utterance's voice when the model knows it) -> speech at ``pace`` (None =
    the TTS config's ``inference.pace``)."""
    def system(utt: Utterance, wave: np.ndarray) -> np.ndarray:
        known = utt.speaker in synthesizer.task.speakers
        return synthesizer.synthesize(utt.text, utt.speaker if known else None, pace)[0]
    return system


def judge_systems(utterances: list[Utterance], systems: dict[str, System], judges: list[Judge],
                  sample_rate: int, out_dir: str | None = None, keep_audio: int = 4,
                  naturalness=None) -> dict:
    """Runs every system on every utterance, every judge on every output; returns the report.

    ``{"systems": {name: {"cer_<judge>", "cer_ratio_<judge>", "mcd_db", "duration_ratio"}},
    "utterances": [...]}`` (``duration_ratio``: the system's total seconds over the ground
    truth's); with ``naturalness`` (:func:`voxjax.evaluation.judges.dnsmos_scorer`) also each
    system's mean DNSMOS. Writes the first ``keep_audio`` utterances' wavs to ``out_dir`` when
    given.
    """
    systems = {"ground_truth": lambda utt, wave: wave, **systems}
    refs: list[str] = []
    hyps = {(s, j.name): [] for s in systems for j in judges}
    mcd: dict[str, list[float]] = {s: [] for s in systems if s != "ground_truth"}
    seconds = {s: 0.0 for s in systems}
    mos: dict[str, list[dict]] = {s: [] for s in systems}
    details = []
    for i, utt in enumerate(tqdm(utterances, desc="judging", leave=False)):
        truth = audio.load_audio(utt.path, sample_rate)
        refs.append(text.normalize(utt.text))
        row = {"path": utt.path, "speaker": utt.speaker, "reference": refs[-1]}
        for name, system in systems.items():
            wave = np.asarray(system(utt, truth), np.float32)
            seconds[name] += len(wave) / sample_rate
            if naturalness is not None:
                mos[name].append(naturalness(wave, sample_rate))
                row[f"{name}_dnsmos_ovrl"] = mos[name][-1]["dnsmos_ovrl"]
            if name != "ground_truth":
                mcd[name].append(metrics.mel_cepstral_distortion(truth, wave, sample_rate))
                row[f"{name}_mcd_db"] = mcd[name][-1]
            for judge in judges:
                hyps[(name, judge.name)].append(judge.transcribe(wave))
                row[f"{name}_{judge.name}"] = hyps[(name, judge.name)][-1]
            if out_dir and i < keep_audio:
                os.makedirs(out_dir, exist_ok=True)
                audio.save_audio(os.path.join(out_dir, f"{i:02d}_{name}.wav"), wave, sample_rate)
        details.append(row)
    report: dict = {"utterances": len(refs), "judges": [j.name for j in judges], "systems": {}}
    for name in systems:
        entry = {}
        for judge in judges:
            entry[f"cer_{judge.name}"] = metrics.error_rates(refs, hyps[(name, judge.name)])["cer"]
        if name in mcd:
            entry["mcd_db"] = float(np.mean(mcd[name])) if mcd[name] else float("nan")
            entry["duration_ratio"] = (seconds[name] / seconds["ground_truth"]
                                       if seconds["ground_truth"] else float("nan"))
        for key in mos[name][0] if mos[name] else ():
            entry[key] = float(np.mean([m[key] for m in mos[name]]))
        report["systems"][name] = entry
    for name, entry in report["systems"].items():
        for judge in judges:
            base = report["systems"]["ground_truth"][f"cer_{judge.name}"]
            entry[f"cer_ratio_{judge.name}"] = (entry[f"cer_{judge.name}"] / base if base > 0
                                                else float("nan"))
    report["details"] = details
    return report


def evaluate_synthesis(split: str, workdir: str, utterances: list[Utterance],
                       mel_cfg: audio.MelConfig, systems: dict[str, System],
                       judge_workdir: str | None = None, limit: int = 100) -> dict:
    """Judges ``systems`` on the first ``limit`` utterances; writes ``W/eval_<split>.json`` and
    sample wavs under ``W/eval_<split>/``; returns the flat summary."""
    judges = []
    if judge_workdir:
        judges += [judges_lib.stt_judge(judge_workdir, beam=True),
                   judges_lib.stt_judge(judge_workdir, beam=False)]
    sphinx = judges_lib.pocketsphinx_judge(mel_cfg.sample_rate)
    if sphinx is not None:
        judges.append(sphinx)
    else:
        log.info("pocketsphinx not installed (pip install -e '.[eval]'): no second judge")
    naturalness = judges_lib.dnsmos_scorer()
    if naturalness is None:
        log.info("speechmos not installed (pip install -e '.[eval]'): no DNSMOS")
    chosen = utterances[:limit]
    report = judge_systems(chosen, systems, judges, mel_cfg.sample_rate,
                           out_dir=os.path.join(workdir, f"eval_{split}"),
                           naturalness=naturalness)
    flat = {"split": split, "utterances": report["utterances"]}
    for name, entry in report["systems"].items():
        flat.update({f"{name}_{k}": v for k, v in entry.items()})
    files.write_json(os.path.join(workdir, f"eval_{split}.json"),
                     {"metrics": flat, "report": report}, indent=1)
    return flat


def evaluate_workdir(workdir: str, split: str = "test", decoder_workdir: str | None = None,
                               judge_workdir: str | None = None, limit: int = 100,
                               out_dir: str | None = None) -> dict:
    """Evaluates a TTS or conv decoder workdir (or published model) on ``split``; writes
    ``eval_<split>.json`` and sample wavs to ``out_dir`` (default: the workdir;
    ``runs/eval/<name>`` for a published model).

    Always: the task's own metrics (teacher-forced losses, durations; or copy-synthesis
    losses). With ``judge_workdir`` (an STT workdir) and, for TTS, ``decoder_workdir``: the
    judged comparison of :func:`evaluate_synthesis` (ASR-CER ratios and MCD against the ground
    truth; Griffin-Lim as the baseline).
    """
    config, task, params = inference.load_workdir(workdir)
    out_dir = out_dir or registry.output_dir(workdir)
    metrics = {f"model_{k}": v for k, v in task.evaluate(params, split).items()}
    systems = {}
    if config.task == "decoder":
        systems["decoder_copy"] = copy_synthesis_system(task, params)
    elif config.task == "tts" and decoder_workdir:
        decoder = inference.load_workdir(decoder_workdir)
        systems["tts"] = tts_system(inference.make_synthesizer(
            (config, task, params), decoder, decoder_name=decoder_workdir))
        systems["decoder_copy"] = copy_synthesis_system(*decoder[1:])
    elif config.task not in ("tts", "decoder"):
        raise ValueError(f"{workdir} holds a {config.task!r} model; expected tts or decoder")
    systems["griffin_lim"] = griffin_lim_system(task.mel)
    if judge_workdir is None and decoder_workdir is None and config.task == "tts":
        systems = {}  # nothing to listen with: the model metrics only
    judged = {}
    if systems:
        utterances = task.utterances(split)
        if config.data.dataset == "ljspeech":  # takes of one prompt: judge each prompt once
            utterances = manifest.one_take_per_prompt(utterances)
        judged = evaluate_synthesis(split, out_dir, utterances, task.mel, systems,
                                    judge_workdir, limit)
    result = {"split": split, **metrics, **judged}
    if not judged:
        files.write_json(os.path.join(out_dir, f"eval_{split}.json"), {"metrics": result},
                         indent=1)
    return result
