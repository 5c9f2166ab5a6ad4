"""Judging voice conversion: is it still the same words, is it the target's voice, how close?

For each held-out utterance (source speaker ``s``) and each target ``t != s``, the converter
renders the utterance in ``t``'s voice, and three judges look at the result:

  intelligibility  an STT judge's CER on the converted audio, divided by the same judge's CER
                   on the source recordings of the same utterances (``cer_ratio``; 1 = no loss)
  speaker          the speaker model's embedding of the converted audio: the nearest training
                   speaker (``target_accuracy`` = how often it is ``t``, ``source_rate`` how
                   often it is still ``s``; closed-set over the whole table), the two-way
                   ``closer_to_target_rate`` (nearer the target's vector than the source
                   speaker's class vector), its cosine to the target's vector and to the source
                   recording's own embedding, beside the source recording's cosine to the target;
                   with ``voice_of`` (the corpus: speakers are accent x voice variant, and
                   variants of one accent differ in timbre, accents mostly in pronunciation)
                   also at the voice level: ``target_voice_accuracy`` / ``source_voice_rate``
                   over targets of another voice than the source's. ``judge_accuracy`` (and
                   ``judge_voice_accuracy``) is how often the speaker model names the *source
                   recordings* right: the ceiling of the identification figures
  where the words go  (``stage_cers``) the judge's CER on the decoder's copy synthesis of
                   each source (the vocoder's share of the loss) and on each source converted
                   to its *own* speaker (content + conversion model + decoder, no voice
                   change), beside the CER of the conversions to other voices
  distance         MCD-DTW (:func:`voxjax.metrics.mel_cepstral_distortion`) to the target's
                   own rendering of the same sentence, beside MCD(source, that rendering): free
                   in the built-in corpus, where eSpeak speaks any sentence in any corpus voice
                   (:func:`voxjax.corpus.build.render`)

A target is a training speaker (the judge's vector for it: the speaker model's class vector;
an embedding-conditioned converter is itself conditioned on the mean embedding of the
speaker's training recordings) or, for conversion models conditioned on embeddings, a
*zero-shot* voice given by a reference recording (its vector: the reference's embedding; no
identification, since the speaker model cannot name a voice it never saw).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
from tqdm import tqdm

from voxjax import audio, files, inference, registry, text
from voxjax.evaluation import metrics
from voxjax.evaluation.judges import SpeakerJudge, dnsmos_scorer, words_judge
from voxjax.evaluation.tts import copy_synthesis_system
from voxjax.data.manifest import Utterance, load_manifest, spread

NAN = float("nan")
REFERENCE_SECONDS = (5.0, 10.0)  # a zero-shot target's reference clip: at least / at most


@dataclasses.dataclass
class Target:
    """A conversion target: a training speaker by name, or a reference recording (zero-shot)."""

    name: str  # the speaker's name (a corpus voice id when ``render`` can speak it)
    reference: np.ndarray | None = None  # None = a training speaker


def reference_clip(utterances: list[Utterance], sample_rate: int) -> np.ndarray:
    """One speaker's recordings joined (0.2 s apart) until :data:`REFERENCE_SECONDS` [0] of
    audio, cut at [1]: the reference clip of a zero-shot target."""
    pieces, total = [], 0
    gap = np.zeros(int(0.2 * sample_rate), np.float32)
    for utt in utterances:
        pieces += [audio.load_audio(utt.path, sample_rate), gap]
        total += len(pieces[-2]) + len(gap)
        if total >= REFERENCE_SECONDS[0] * sample_rate:
            break
    return np.concatenate(pieces)[: int(REFERENCE_SECONDS[1] * sample_rate)]


@dataclasses.dataclass
class Source:
    """A held-out recording with what the judges say about it (computed once per evaluation)."""

    utterance: Utterance
    wave: np.ndarray
    hypothesis: str  # the STT judge's transcript
    embedding: np.ndarray  # the speaker model's unit embedding
    named: str  # the speaker model's nearest training speaker
    naturalness: dict | None = None  # DNSMOS of the recording (None without the eval extra)


def judge_sources(utterances: list[Utterance], judge, speaker_judge: SpeakerJudge,
                  sample_rate: int, naturalness=None) -> list[Source]:
    """Loads each utterance at ``sample_rate`` and runs the judges on it (``naturalness``:
    :func:`voxjax.evaluation.judges.dnsmos_scorer` or None)."""
    sources = []
    for utt in tqdm(utterances, desc="judging sources", leave=False):
        wave = audio.load_audio(utt.path, sample_rate)
        embedding = speaker_judge.embed(wave, sample_rate)
        sources.append(Source(utt, wave, judge.transcribe(wave), embedding,
                              speaker_judge.nearest(embedding),
                              naturalness(wave, sample_rate) if naturalness else None))
    return sources


def evaluate_conversion(converter, sources: list[Source], targets: list[Target], judge,
                        speaker_judge: SpeakerJudge, render=None, out_dir: str | None = None,
                        keep_audio: int = 4, voice_of=None, naturalness=None) -> dict:
    """Converts every source to every target (not its own speaker) and judges the results.

    ``converter``: a :class:`voxjax.streaming.StreamingConverter` (offline scan; streamed output
    is the same by test); ``sources``: :func:`judge_sources` with the same ``judge`` (a
    :class:`voxjax.evaluation.judges.Judge`) and ``speaker_judge``; ``render(text, voice) -> wave``
    the target's own rendering for MCD (None: no MCD); ``voice_of(speaker) -> voice`` groups
    speakers into voices for the voice-level figures (None: none); ``naturalness``
    (:func:`voxjax.evaluation.judges.dnsmos_scorer`) rates each conversion's DNSMOS. Returns
    ``{"summary": {...}, "details": [...]}`` (module docstring for the keys); the first
    ``keep_audio`` conversions are written to ``out_dir`` with their sources.
    """
    sr = converter.sample_rate
    vectors = {t.name: speaker_judge.vector(t, sr) for t in targets}
    refs, source_hyps, hyps, details = [], [], [], []
    for item in tqdm(sources, desc="converting", leave=False):
        utt, source, source_hyp = item.utterance, item.wave, item.hypothesis
        source_embedding = item.embedding
        for target in targets:
            if target.name == utt.speaker:
                continue
            if target.reference is None:
                out = converter.convert(source, sr, target.name)
            else:
                out = converter.convert(source, sr, reference=target.reference)
            try:
                embedding = speaker_judge.embed(out, sr)
            except ValueError:  # too short or silent to judge (via text: no word recognised)
                embedding = None
            row = {"path": utt.path, "source": utt.speaker, "target": target.name,
                   "zero_shot": target.reference is not None, "reference": text.normalize(utt.text),
                   "hypothesis": judge.transcribe(out) if out.size else "",
                   "source_hypothesis": source_hyp, "unjudged_voice": embedding is None,
                   "nearest_speaker": None, "cos_target": NAN, "cos_source": NAN,
                   "source_cos_target": float(source_embedding @ vectors[target.name])}
            if embedding is not None:
                row.update(nearest_speaker=speaker_judge.nearest(embedding),
                           cos_target=float(embedding @ vectors[target.name]),
                           cos_source=float(embedding @ source_embedding))
                source_class = speaker_judge.class_vector(utt.speaker)
                if source_class is not None:  # two-way: nearer the target than the source?
                    row["closer_to_target"] = bool(row["cos_target"] > embedding @ source_class)
            if voice_of is not None and not row["zero_shot"] and (
                    voice_of(target.name) != voice_of(utt.speaker)):
                named = voice_of(row["nearest_speaker"]) if embedding is not None else None
                row["target_voice_named"] = named == voice_of(target.name)
                row["source_voice_named"] = named == voice_of(utt.speaker)
            if naturalness is not None and out.size:
                row.update(naturalness(out, sr))
            if render is not None and out.size:
                rendered = render(utt.text, target.name)
                row["mcd_target_db"] = metrics.mel_cepstral_distortion(rendered, out, sr)
                row["mcd_source_target_db"] = metrics.mel_cepstral_distortion(rendered, source,
                                                                                 sr)
            if out_dir and len(details) < keep_audio:
                stem = os.path.join(out_dir, f"{len(details):02d}_{utt.speaker}_to_{target.name}")
                audio.save_audio(stem + "_source.wav", source, sr)
                audio.save_audio(stem + "_converted.wav", out, sr)
            refs.append(row["reference"])
            hyps.append(row["hypothesis"])
            source_hyps.append(source_hyp)
            details.append(row)
    summary = summarise(details, refs, hyps, source_hyps)
    summary["judge_accuracy"] = float(np.mean([s.named == s.utterance.speaker for s in sources]))
    rated = [s.naturalness for s in sources if s.naturalness]
    for key in rated[0] if rated else ():
        summary[f"source_{key}"] = float(np.mean([r[key] for r in rated]))
    # The control of target_accuracy: how often the unconverted source is already named the
    # target (a judge that names everyone the target would score the same on conversions).
    summary["source_named_target_rate"] = float(np.mean(
        [s.named == t.name for s in sources for t in targets
         if t.reference is None and t.name != s.utterance.speaker] or [NAN]))
    if voice_of is not None:
        summary["judge_voice_accuracy"] = float(np.mean(
            [voice_of(s.named) == voice_of(s.utterance.speaker) for s in sources]))
    return {"summary": summary, "details": details}


def stage_scores(converter, sources: list[Source], judge, copy_synthesis,
                 speaker_judge: SpeakerJudge | None = None, voice_of=None) -> dict:
    """Where the words and the voice are lost: two stages short of a conversion, judged as the
    sources are. ``copy``: ``copy_synthesis(wave) -> wave`` (the decoder on each source's own
    log-mel); ``own_voice``: each source converted to its own speaker (the table's name when
    the model knows the speaker, else the source recording as the reference; left out when
    the model knows none of the sources' speakers and takes no reference). Per stage the
    judge's CER and its ratio to the sources' CER; with ``speaker_judge`` also how often the
    speaker model names the source's speaker (``_speaker_accuracy``) and, with ``voice_of``,
    its voice (``_voice_accuracy``): beside ``judge_accuracy`` on the sources themselves."""
    sr = converter.sample_rate
    known = [s.utterance.speaker in converter.task.speakers for s in sources]
    by_reference = converter.task.speaker_mode == "embedding"
    refs, outputs = [], {"copy": []}
    if all(known) or by_reference:
        outputs["own_voice"] = []
    for item, is_known in tqdm(list(zip(sources, known)), desc="copy + own voice", leave=False):
        utt, wave = item.utterance, item.wave
        refs.append(text.normalize(utt.text))
        outputs["copy"].append(copy_synthesis(wave))
        if "own_voice" in outputs:
            outputs["own_voice"].append(converter.convert(wave, sr, utt.speaker) if is_known
                                        else converter.convert(wave, sr, reference=wave))
    source_cer = metrics.error_rates(refs, [s.hypothesis for s in sources])["cer"]
    result = {}
    for name, waves in outputs.items():
        cer = metrics.error_rates(refs, [judge.transcribe(w) for w in waves])["cer"]
        result[f"{name}_cer"] = cer
        result[f"{name}_cer_ratio"] = cer / source_cer if source_cer > 0 else NAN
        if speaker_judge is None:
            continue
        named = [_named(speaker_judge, w, sr) for w in waves]
        speakers = [s.utterance.speaker for s in sources]
        result[f"{name}_speaker_accuracy"] = float(np.mean(
            [n == spk for n, spk in zip(named, speakers)]))
        if voice_of is not None:
            result[f"{name}_voice_accuracy"] = float(np.mean(
                [n is not None and voice_of(n) == voice_of(spk)
                 for n, spk in zip(named, speakers)]))
    return result


def _named(speaker_judge: SpeakerJudge, wave: np.ndarray, rate: int) -> str | None:
    """The speaker model's nearest training speaker, None for audio too short or silent."""
    try:
        return speaker_judge.nearest(speaker_judge.embed(wave, rate))
    except ValueError:
        return None


def summarise(details: list[dict], refs: list[str], hyps: list[str],
              source_hyps: list[str]) -> dict:
    """The flat figures of :func:`evaluate_conversion` over its detail rows."""
    if not details:
        raise ValueError("no conversions to judge: every target was the source's own speaker")
    cer, source_cer = (metrics.error_rates(refs, h)["cer"] for h in (hyps, source_hyps))
    seen = [r for r in details if not r["zero_shot"]]
    summary = {"conversions": len(details), "cer": cer, "source_cer": source_cer,
               "cer_ratio": cer / source_cer if source_cer > 0 else float("nan")}
    if seen:
        summary["target_accuracy"] = float(np.mean([r["nearest_speaker"] == r["target"]
                                                    for r in seen]))
        summary["source_rate"] = float(np.mean([r["nearest_speaker"] == r["source"]
                                                for r in seen]))
    voice_rows = [r for r in seen if "target_voice_named" in r]
    if voice_rows:
        summary["target_voice_accuracy"] = float(np.mean([r["target_voice_named"]
                                                          for r in voice_rows]))
        summary["source_voice_rate"] = float(np.mean([r["source_voice_named"]
                                                      for r in voice_rows]))
    two_way = [r["closer_to_target"] for r in details if "closer_to_target" in r]
    if two_way:
        summary["closer_to_target_rate"] = float(np.mean(two_way))
    # Outputs too short to judge count as misses above and are left out of the means below.
    summary["unjudged_voice"] = int(sum(r["unjudged_voice"] for r in details))
    for key in ("cos_target", "cos_source", "source_cos_target", "mcd_target_db",
                "mcd_source_target_db", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"):
        values = [r[key] for r in details if key in r and not np.isnan(r[key])]
        if values:
            summary[key] = float(np.mean(values))
    return summary


def evaluate_workdir(vc_workdir: str, decoder_workdir: str, judge_workdir: str,
                     speaker_workdir: str, split: str = "test", limit: int = 25,
                     targets: int = 4, zero_shot: int = 0, tts_workdir: str | None = None,
                     sources_from: tuple[str, str] | None = None) -> dict:
    """Evaluates a ``vc`` workdir on ``split``: the first ``limit`` utterances, each converted to
    ``targets`` training speakers (spread over the table) and, for embedding-conditioned models,
    to ``zero_shot`` speakers of ``test_unseen`` given by a reference clip of their own
    recordings (those recordings are not converted). With ``tts_workdir``, conversion via text
    (:mod:`voxjax.via_text`: the vc model's content STT, greedy, then that TTS) is judged on the
    same utterances and targets beside it. ``sources_from=(dataset, root)``: the sources are
    ``limit`` utterances of that dataset's ``split`` instead, spread over it (human speakers
    converted into the model's voices; no MCD, since nobody rendered them in the target's
    voice), and the judges also read the first ``limit`` ``test`` recordings of the model's own
    data (``target_recordings_*``: the ceiling of the identification). ``judge_workdir``
    ``'pocketsphinx'`` judges the words with pocketsphinx (the ``eval`` extra) instead of an STT
    workdir. DNSMOS (the ``eval`` extra) rates every conversion and source. Writes
    ``eval_<split>.json`` (``eval_<dataset>_<split>.json`` for other sources),
    ``.md`` and a few wavs under a folder of that name in the vc workdir (``runs/eval/<name>``
    for a published model); returns the flat
    summary (zero-shot and via-text figures apart, keys ``zero_shot_*`` and ``via_text_*``)."""
    from voxjax.corpus import build
    converter = inference.load_converter(vc_workdir, decoder_workdir)
    task = converter.task
    if zero_shot and task.speaker_mode != "embedding":
        raise ValueError("zero-shot targets need a conversion model trained with "
                         "vc.speaker='embedding'")
    chosen = [Target(name) for name in spread(task.speakers, targets)]
    unseen_targets = []
    if zero_shot:
        by_speaker: dict[str, list[Utterance]] = {}
        for utt in task.utterances("test_unseen"):
            by_speaker.setdefault(utt.speaker, []).append(utt)
        for name in spread(sorted(by_speaker), zero_shot):
            unseen_targets.append(Target(name, reference_clip(by_speaker[name],
                                                              converter.sample_rate)))
    synthetic = task.config.data.dataset == "synth" and sources_from is None
    render = (lambda sentence, voice: build.render(sentence, voice)) if synthetic else None
    voice_of = build.voice_variant if synthetic else None
    judge = words_judge(judge_workdir, converter.sample_rate)
    naturalness = dnsmos_scorer()
    speaker_judge = SpeakerJudge(speaker_workdir)
    result = {"split": split, "judge": judge.name if judge_workdir == "pocketsphinx" else
              os.path.abspath(judge_workdir), "speaker_model": os.path.abspath(speaker_workdir),
              "targets": [t.name for t in chosen]}
    if sources_from is None:
        utterances = task.utterances(split)[:limit]
    else:
        utterances = spread(load_manifest(*sources_from, split), limit)
        result["sources"] = f"{sources_from[0]}:{os.path.abspath(sources_from[1])}"
        own = judge_sources(task.utterances("test")[:limit], judge, speaker_judge,
                            converter.sample_rate, naturalness)
        result["target_recordings_named"] = float(np.mean([s.named == s.utterance.speaker
                                                           for s in own]))
        result["target_recordings_cer"] = metrics.error_rates(
            [text.normalize(s.utterance.text) for s in own], [s.hypothesis for s in own])["cer"]
        if naturalness is not None:
            result["target_recordings_dnsmos_ovrl"] = float(np.mean(
                [s.naturalness["dnsmos_ovrl"] for s in own]))
    sources = judge_sources(utterances, judge, speaker_judge, converter.sample_rate, naturalness)
    name = f"eval_{sources_from[0]}_{split}" if sources_from else f"eval_{split}"
    home = registry.output_dir(vc_workdir)
    out_dir = os.path.join(home, name)
    report = evaluate_conversion(converter, sources, chosen, judge, speaker_judge, render,
                                 out_dir, voice_of=voice_of, naturalness=naturalness)
    copy = copy_synthesis_system(*inference.load_workdir(decoder_workdir)[1:])
    report["summary"].update(stage_scores(converter, sources, judge, lambda wave: copy(None, wave),
                                          speaker_judge, voice_of))
    result.update(report["summary"])
    reports = {"seen": report}
    if unseen_targets:
        zero = evaluate_conversion(converter, sources, unseen_targets, judge, speaker_judge,
                                   render, os.path.join(out_dir, "zero_shot"),
                                   naturalness=naturalness)
        result.update({f"zero_shot_{k}": v for k, v in zero["summary"].items()})
        result["zero_shot_targets"] = [t.name for t in unseen_targets]
        reports["zero_shot"] = zero
    if tts_workdir:
        via_text = inference.load_via_text_converter(task.config.vc.content_workdir, tts_workdir,
                                                     decoder_workdir)
        known = [t for t in chosen if t.name in via_text.synthesizer.task.speakers]
        text_report = evaluate_conversion(via_text, sources, known, judge, speaker_judge,
                                          render, os.path.join(out_dir, "via_text"),
                                          voice_of=voice_of, naturalness=naturalness)
        result.update({f"via_text_{k}": v for k, v in text_report["summary"].items()})
        reports["via_text"] = text_report
    files.write_json(os.path.join(home, name + ".json"),
                     {"metrics": result, "reports": reports}, indent=1)
    files.write_text(os.path.join(home, name + ".md"), markdown(reports) + "\n")
    return result


COLUMNS = ("targets", "conversions", "cer_ratio", "cer", "source_cer", "copy_cer",
           "own_voice_cer", "target_accuracy", "source_named_target_rate",
           "source_rate", "target_voice_accuracy", "source_voice_rate", "judge_accuracy",
           "judge_voice_accuracy", "copy_voice_accuracy", "own_voice_voice_accuracy",
           "closer_to_target_rate", "unjudged_voice", "cos_target",
           "cos_source", "source_cos_target", "mcd_target_db", "mcd_source_target_db",
           "dnsmos_ovrl", "source_dnsmos_ovrl")


def markdown(reports: dict) -> str:
    """The summaries of :func:`evaluate_conversion` runs as one markdown table."""
    rows = [{"targets": name, **r["summary"]} for name, r in reports.items()]
    return metrics.markdown_table(rows, [c for c in COLUMNS if any(c in r for r in rows)])
