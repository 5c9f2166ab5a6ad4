"""The README's main job: corpus → train all models → evaluate → stream both ways → report.

Everything it writes lands in one workdir:
    corpus/                      the built-in synthetic corpus (cached between runs)
    stt_synth/, stt_synth_streaming/, decoder_synth/, tts_synth/, speaker_synth/, vc_synth/
                                 training workdirs (checkpoints, metrics.jsonl, TensorBoard;
                                 train.log: the output of a training run in a lane)
    report.md, results.json      the figures below, with the command that made them
    plots/*.png, transcripts/*.txt, audio/*.wav

With ``real_data`` (``voxjax main --real-data ../shared/data``) the STT models are also judged
zero-shot on the human test sets found there (``voxjax.data.sources.HUMAN_TEST_SETS``).
"""
from __future__ import annotations

import functools
import glob
import json
import os
import platform
import shutil
import time

import numpy as np

from voxjax import audio, config as config_lib, errors, evaluation, files
from voxjax import inference, lanes as lanes_lib, summaries, train
from voxjax.evaluation import conversion as conversion_evaluation, stt as stt_evaluation
from voxjax.evaluation import tts as tts_evaluation
from voxjax.data import manifest, sources

class Preempted(errors.Stopped):
    """Training stopped on SIGTERM; its checkpoint is saved and the same command resumes it."""


STT_EXPERIMENTS = ("stt_synth", "stt_synth_streaming")
TTS_EXPERIMENTS = ("decoder_synth", "tts_synth")
CONVERSION_EXPERIMENTS = ("speaker_synth", "vc_synth")  # vc reads stt_synth_streaming's content
EXPERIMENTS = STT_EXPERIMENTS + TTS_EXPERIMENTS + CONVERSION_EXPERIMENTS
# Longest training first, so that two lanes end close together (benchmarks/training_cost.py).
TRAINING_ORDER = ("tts_synth", "stt_synth_streaming", "stt_synth", "decoder_synth", "vc_synth",
                  "speaker_synth")
TRAINING_AFTER = {"vc_synth": ("stt_synth_streaming",)}  # the STT network it reads content from
EVAL_SPLITS = ("test", "test_unseen")
DEMO_SENTENCES = (
    "Hello, this voice was trained from scratch on a laptop class CPU.",
    "On March 3rd, 2024, Dr. Smith paid $12.50 for 2 tickets at 7:30.",
    "Streaming synthesis starts playing long before the whole sentence is done.",
)


def _plot_training(workdir: str, name: str, out_dir: str) -> str:
    rows = [r for r in summaries.read_metrics(workdir, "train") if r.get("loss") is not None]
    path = os.path.join(out_dir, f"{name}_loss.png")
    written = rows and evaluation.plot_curves(
        [r["step"] for r in rows], {"train loss": [r["loss"] for r in rows]}, path,
        f"{name}: training loss")
    return path if written else ""


def _throughput(workdir: str) -> float:
    """Median training throughput of a run, seconds of audio per second (NaN if not logged)."""
    values = [r["audio_seconds_per_sec"] for r in summaries.read_metrics(workdir, "train")
              if r.get("audio_seconds_per_sec")]
    return float(np.median(values)) if values else float("nan")


def _stream_demo(workdir: str, split_paths: list[str], out_path: str) -> dict:
    """Transcribes files chunk by chunk (the config's inference settings), timing every chunk
    after warm-up."""
    transcriber = inference.Transcriber(workdir, stream=True)
    streamer, times, audio_s, lines = transcriber.streamer, [], 0.0, []
    for path in split_paths:
        wave = audio.load_audio(path, transcriber.mel.sample_rate)
        audio_s += len(wave) / transcriber.mel.sample_rate
        session = streamer.session()
        for start in range(0, len(wave), streamer.chunk_samples):
            with evaluation.Stopwatch() as sw:
                session.feed(wave[start:start + streamer.chunk_samples])
            times.append(sw.seconds)
        lines.append(f"{path}\t{session.finish()}")
    files.write_text(out_path, "\n".join(lines) + "\n")
    warm = times[5:] or times  # the first chunks include compilation
    return {"chunk_ms": streamer.chunk_ms, "rtf": float(np.sum(times) / audio_s),
            **evaluation.latency_summary(warm)}


def run(workdir: str, tiny: bool = False, corpus_dir: str | None = None,
        real_data: str | None = None, lanes: int | None = None) -> str:
    """Runs the whole job and returns the path of ``report.md`` (corpus in ``workdir/corpus``).

    ``real_data``: a folder of human recordings (see the module docstring) to judge the STT
    models on as well; the job fails before training if it holds no known test set.
    ``lanes``: how many models train at once (:mod:`voxjax.lanes`); default
    :func:`default_lanes`.
    """
    arg = "tiny" if tiny else None
    lanes = default_lanes() if lanes is None else int(lanes)
    if lanes < 1:
        raise ValueError(f"--lanes must be at least 1, got {lanes}")
    human_sets = sources.human_test_sets(real_data) if real_data else []
    for sub in ("plots", "transcripts"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    corpus_dir = corpus_dir or os.path.join(workdir, "corpus")
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": platform.processor()
                     or platform.machine(), "cpus": os.cpu_count(), "tiny": tiny,
                     "lanes": lanes, "models": {}}
    configs = {name: _config(name, arg, workdir, corpus_dir) for name in EXPERIMENTS}
    with sources.corpus_building():  # once, here, before trainings in lanes could race for it
        for config in configs.values():
            sources.training_utterances(config.data, config.seed)
    jobs = [lanes_lib.Job(name, after=TRAINING_AFTER.get(name, ()),
                          log_path=os.path.join(workdir, name, "train.log"))
            for name in TRAINING_ORDER]
    start = time.time()
    trained = lanes_lib.run(
        jobs, functools.partial(_train_model, workdir=workdir, arg=arg, corpus_dir=corpus_dir,
                                human_sets=tuple(human_sets)),
        lanes, progress=functools.partial(_training_progress, workdir=workdir,
                                          steps={n: c.train.steps for n, c in configs.items()}))
    if set(trained) != set(EXPERIMENTS):  # SIGTERM between two trainings
        raise Preempted("stopped before every model was trained; run the same command again "
                        "to resume")
    results["training_seconds"] = round(time.time() - start, 1)
    results["models"] = {name: trained[name] for name in EXPERIMENTS}
    stream_dir = os.path.join(workdir, "stt_synth_streaming")
    with open(os.path.join(stream_dir, "eval_test.json")) as f:
        test_paths = [u["path"] for u in json.load(f)["utterances"][:8]]
    results["streaming"] = _stream_demo(stream_dir, test_paths,
                                        os.path.join(workdir, "transcripts", "streaming_test.txt"))
    results["synthesis"] = _synthesis(workdir, limit=4 if tiny else 100)
    results["conversion"] = _conversion(workdir, limit=2 if tiny else 25,
                                        human=human_sets[0] if human_sets else None)
    files.write_json(os.path.join(workdir, "results.json"), results, indent=1)
    return _write_report(workdir, results, real_data)


def default_lanes() -> int:
    """Two lanes on a CPU with at least two cores (1.2x the training work per second on this
    project's 2-core CPU), else one: an accelerator is kept busy by one training."""
    import jax
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if jax.default_backend() == "cpu" and (usable or 1) >= 2 else 1


def _config(name: str, arg: str | None, workdir: str, corpus_dir: str):
    config = config_lib.load(name, arg)
    config.data.root = corpus_dir
    if name == "vc_synth":
        config.vc.content_workdir = os.path.join(workdir, "stt_synth_streaming")
    return config


def _train_model(job, workdir: str, arg: str | None, corpus_dir: str, human_sets) -> dict:
    """Trains (or resumes) one model and evaluates it: its entry of ``results["models"]``.
    Runs in a lane's process (or here, with one lane)."""
    name = job.name
    config = _config(name, arg, workdir, corpus_dir)
    run_dir = os.path.join(workdir, name)
    start = time.time()
    final = train.train_and_evaluate(config, run_dir)
    if final.get("preempted"):  # SIGTERM: the checkpoint is saved; rerun to resume
        raise Preempted(f"{name} was stopped at step {int(final['step'])}; "
                        "run the same command again to resume")
    entry = {"train_seconds": round(time.time() - start, 1), "steps": config.train.steps,
             "audio_seconds_per_sec": _throughput(run_dir)}
    entry["loss_plot"] = _plot_training(run_dir, name, os.path.join(workdir, "plots"))
    if name not in STT_EXPERIMENTS:
        return entry
    # Decode settings follow the config file, also for a workdir trained before a retune.
    decode = {k: config.inference[k] for k in ("beam_size", "prior_weight", "length_bonus")}
    for split in EVAL_SPLITS:
        entry[split] = stt_evaluation.evaluate_workdir(run_dir, split, decode=decode)
    entry["human"] = {folder: stt_evaluation.evaluate_workdir(
        run_dir, split, decode=decode, dataset=dataset, root=root)
        for dataset, folder, split, root in human_sets}
    return entry


def _training_progress(job, workdir: str, steps: dict) -> tuple[int, int]:
    rows = summaries.read_metrics(os.path.join(workdir, job.name), "train")
    return (int(rows[-1]["step"]) if rows else 0), steps[job.name]


def _synthesis(workdir: str, limit: int) -> dict:
    """Judged TTS evaluation, streamed demo sentences (timed), mel/alignment/duration plots."""
    tts_dir, decoder_dir = (os.path.join(workdir, n) for n in ("tts_synth", "decoder_synth"))
    judged = tts_evaluation.evaluate_workdir(
        tts_dir, "test", decoder_dir, judge_workdir=os.path.join(workdir, "stt_synth"),
        limit=limit)
    synthesizer = inference.load_synthesizer(tts_dir, decoder_dir)
    os.makedirs(os.path.join(workdir, "audio"), exist_ok=True)
    for sentence in DEMO_SENTENCES:  # warm-up: each token padding compiles its own step
        list(synthesizer.stream(sentence))
    demos = []
    for i, sentence in enumerate(DEMO_SENTENCES, start=1):
        chunks, start = [], time.perf_counter()
        for chunk in synthesizer.stream(sentence):
            chunks.append(chunk)
            if len(chunks) == 1:
                first = time.perf_counter() - start
        seconds = time.perf_counter() - start
        wave = np.concatenate(chunks)
        path = os.path.join(workdir, "audio", f"demo_{i}.wav")
        audio.save_audio(path, wave, synthesizer.sample_rate)
        demos.append({"text": sentence, "wav": os.path.relpath(path, workdir),
                      "first_audio_ms": 1000 * first,
                      "rtf": seconds / (len(wave) / synthesizer.sample_rate)})
    task, params = synthesizer.task, synthesizer.params["acoustic"]
    aligned = task.align(params, task.utterances("test")[0])
    plots = os.path.join(workdir, "plots")
    evaluation.plot_mel(aligned["target"], os.path.join(plots, "tts_target_mel.png"),
                        "test sentence: corpus audio")
    evaluation.plot_mel(aligned["teacher_forced"], os.path.join(plots, "tts_teacher_forced_mel.png"),
                        "acoustic model, teacher-forced")
    _, mels = synthesizer.synthesize(task.utterances("test")[0].text)
    evaluation.plot_mel(np.concatenate(mels), os.path.join(plots, "tts_synthesised_mel.png"),
                        "acoustic model, free-running")
    evaluation.plot_alignment(aligned["attention"], os.path.join(plots, "tts_alignment.png"),
                              "learned alignment (soft)", tokens=aligned["tokens"])
    evaluation.plot_durations(aligned["predicted_durations"],
                              os.path.join(plots, "tts_durations.png"), tokens=aligned["tokens"],
                              title="predicted durations (frames)")
    return {"judged": judged, "demos": demos}


def _conversion(workdir: str, limit: int, human=None) -> dict:
    """Judged conversion of ``limit`` test utterances into four training voices (offline scan of
    the streaming step; streamed output is the same), a few wavs kept under ``audio/``, and,
    with a human test set, one human recording converted into the first target voice."""
    vc_dir, decoder_dir = (os.path.join(workdir, n) for n in ("vc_synth", "decoder_synth"))
    judged = conversion_evaluation.evaluate_workdir(
        vc_dir, decoder_dir, judge_workdir=os.path.join(workdir, "stt_synth"),
        speaker_workdir=os.path.join(workdir, "speaker_synth"), split="test", limit=limit)
    out_dir = os.path.join(workdir, "audio", "conversion")
    os.makedirs(out_dir, exist_ok=True)
    kept = sorted(glob.glob(os.path.join(vc_dir, "eval_test", "*.wav")))
    for path in kept:
        shutil.copy(path, out_dir)
    with open(os.path.join(vc_dir, "eval_test.md")) as f:
        table = f.read().strip()
    result = {"judged": judged, "table": table, "wavs": [os.path.relpath(os.path.join(out_dir, os.path.basename(p)),
                                                         workdir) for p in kept]}
    if human is not None:
        dataset, folder, split, root = human
        utt = manifest.load_manifest(dataset, root, split)[0]
        converter = inference.load_converter(vc_dir, decoder_dir)
        wave = audio.load_audio(utt.path, converter.sample_rate)
        target = judged["targets"][0]
        path = os.path.join(out_dir, f"human_{folder}_to_{target}.wav")
        audio.save_audio(path, converter.convert(wave, converter.sample_rate, target),
                         converter.sample_rate)
        audio.save_audio(path.replace(".wav", "_source.wav"), wave, converter.sample_rate)
        result["human"] = {"source": utt.path, "target": target,
                           "wav": os.path.relpath(path, workdir)}
    return result


def _conversion_report(conversion: dict) -> list[str]:
    judged = conversion["judged"]
    lines = [f"## Speech conversion ({judged['conversions']} conversions of held-out `test` "
             f"utterances into {', '.join(judged['targets'])}; judges: `stt_synth` for CER, "
             "`speaker_synth` for the voice; MCD to eSpeak's own rendering in the target voice)",
             "", conversion["table"], "", "Wavs: " + ", ".join(f"`{w}`" for w in conversion["wavs"]), ""]
    if "human" in conversion:
        h = conversion["human"]
        lines += [f"Human recording `{h['source']}` in the voice of {h['target']}: `{h['wav']}` "
                  "(not judged).", ""]
    return lines


def _human_speech_report(results: dict, real_data: str | None) -> list[str]:
    rows = [{"model": name, "test set": f"{folder} {m['split']}", "CER beam+prior": m["cer_beam"],
             "WER beam+prior": m["wer_beam"], "CER greedy": m["cer"],
             "utterances": int(m["utterances"])}
            for name, entry in results["models"].items()
            for folder, m in entry.get("human", {}).items()]
    if not rows:
        return []
    return ["## Speech to text on human speech (zero-shot: trained on the built-in corpus only; "
            f"`--real-data {real_data}`)", "", evaluation.markdown_table(rows, list(rows[0])), ""]


def _write_report(workdir: str, results: dict, real_data: str | None = None) -> str:
    rows = []
    for name, entry in results["models"].items():
        for split in EVAL_SPLITS if name in STT_EXPERIMENTS else ():
            m = entry[split]
            rows.append({"model": name, "split": split, "CER greedy": m["cer"],
                         "CER beam+prior": m.get("cer_beam", float("nan")), "WER greedy": m["wer"],
                         "WER beam+prior": m.get("wer_beam", float("nan")),
                         "utterances": int(m["utterances"]), "train s": entry["train_seconds"]})
    s = results["streaming"]
    lines = [
        "# voxjax main job report", "",
        f"Date {results['date']}, {results['cpus']} CPUs ({results['machine']}), "
        f"tiny={results['tiny']}. Command: `voxjax main --workdir {workdir}"
        + (" --tiny" if results["tiny"] else "")
        + (f" --real-data {real_data}" if real_data else "") + "`.", "",
        "## Speech to text (CER/WER on held-out sentences; test_unseen also has unseen voices)", "",
        evaluation.markdown_table(rows, list(rows[0])), "",
        *_human_speech_report(results, real_data),
        "## Streaming transcription (streaming model, measured chunk by chunk after warm-up)", "",
        f"chunk {s['chunk_ms']} ms: RTF {s['rtf']:.4f}, chunk latency median "
        f"{s['median_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms. Transcripts: "
        "`transcripts/streaming_test.txt`.", "",
        "## Training (wall seconds of each `train_and_evaluate`, in-loop evaluation included; "
        "throughput: median seconds of audio trained on per second)", "",
        f"{results['lanes']} lane(s) (models trained at once, `--lanes`): "
        f"{results['training_seconds']:.0f} s from the first training's start to the last "
        "one's end, STT evaluations included.", "", ", ".join(f"{n}: {e['train_seconds']:.0f} s ({e['steps']} steps, "
                      f"{e['audio_seconds_per_sec']:.1f} audio s/s)"
                      for n, e in results["models"].items()), "",
        "## Plots", "",
    ]
    lines[-2:-2] = _synthesis_report(results["synthesis"]) + _conversion_report(
        results["conversion"])
    lines += [f"![{n}](plots/{os.path.basename(e['loss_plot'])})"
              for n, e in results["models"].items() if e["loss_plot"]]
    lines += [f"![{n}](plots/tts_{n}.png)" for n in
              ("target_mel", "teacher_forced_mel", "synthesised_mel", "alignment", "durations")
              if os.path.exists(os.path.join(workdir, "plots", f"tts_{n}.png"))]
    return files.write_text(os.path.join(workdir, "report.md"), "\n".join(lines) + "\n")


def _synthesis_report(synthesis: dict) -> list[str]:
    judged = synthesis["judged"]
    systems = ("ground_truth", "tts", "decoder_copy", "griffin_lim")
    judges = sorted({k[len(f"{systems[0]}_cer_"):] for k in judged
                     if k.startswith(f"{systems[0]}_cer_") and "ratio" not in k})
    rows = []
    for system in systems:
        row = {"system": system}
        for judge in judges:
            row[f"CER {judge}"] = judged.get(f"{system}_cer_{judge}", float("nan"))
            row[f"ratio {judge}"] = judged.get(f"{system}_cer_ratio_{judge}", float("nan"))
        row["MCD dB"] = judged.get(f"{system}_mcd_db", float("nan"))
        rows.append(row)
    demo_rows = [{"wav": d["wav"], "first audio ms": d["first_audio_ms"], "RTF": d["rtf"],
                  "text": d["text"]} for d in synthesis["demos"]]
    return [
        f"## Text to speech ({judged['utterances']} `test` sentences, seen voices; the ratio "
        "divides by the same judge's CER on the corpus audio)", "",
        evaluation.markdown_table(rows, list(rows[0])), "",
        "## Streaming synthesis (chunks of 100 ms; timed after a warm-up pass over each "
        "sentence)", "",
        evaluation.markdown_table(demo_rows, list(demo_rows[0])), "",
    ]
