"""CPU speed benchmark for speech-to-text: offline RTF, streaming chunk latency, beam search, pocketsphinx.

    python benchmarks/stt.py [--workdir W_streaming] [--offline-workdir W_offline]
                             [--chunk-ms 80 160 320] [--seconds 60] [--out benchmarks/results/stt.json]

One run, one test set: about ``--seconds`` of eSpeak speech (sentences from the project's
generator, resampled to 16 kHz), the same audio for every system. Models come from the
workdirs (trained) or are freshly initialised from ``configs/stt_synth_streaming.py`` and
``configs/stt_synth.py`` (compute cost does not depend on the weights; beam-search cost does,
because it depends on how peaked the posteriors are). RTF = compute seconds / audio seconds
(< 1 is faster than real time). Every jitted path is warmed up first; compile time is reported
apart as first call minus steady state. CER is reported only for trained models.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

import jax
import numpy as np

# `python benchmarks/stt.py` from a checkout without `pip install -e .`: find the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import audio, config as config_lib, decoding, evaluation, inference, tasks, text
from voxjax.evaluation import judges
from voxjax.corpus import generate_sentences
from voxjax.models.text_prior import CharNGramPrior
from voxjax.streaming import StreamingTranscriber
from common import machine_info, make_test_audio, print_table, write_result  # noqa: E402

COLUMNS = ["system", "weights", "chunk_ms", "rtf", "median_ms", "p95_ms", "compile_s", "cer", "notes"]


def load_model(workdir: str | None, config_name: str):
    """``(task, params, trained)`` from a workdir, or freshly initialised from a config file."""
    if workdir:
        _, task, params = inference.load_workdir(workdir)
        return task, params, True
    task = tasks.get(config_lib.load(config_name))
    n_mels = task.mel.n_mels
    params = task.init(jax.random.PRNGKey(0), {"features": np.zeros((1, 64, n_mels), np.float32),
                                               "feature_lengths": np.array([64], np.int32)})
    return task, params, False


def time_per_utterance(fn, waves, repeats: int):
    """Calls ``fn(wave)`` once per wave (warm-up/compile), then ``repeats`` timed passes.

    Returns ``(steady seconds per wave (median over passes), compile seconds, last outputs)``:
    compile = sum over waves of (first call - steady), i.e. the one-off cost of every new shape.
    """
    first, outputs = [], []
    for w in waves:
        t0 = time.perf_counter()
        fn(w)
        first.append(time.perf_counter() - t0)
    passes = []
    for _ in range(max(1, repeats)):
        times, outputs = [], []
        for w in waves:
            with evaluation.Stopwatch() as sw:
                outputs.append(fn(w))
            times.append(sw.seconds)
        passes.append(times)
    steady = np.median(np.asarray(passes), axis=0)
    return steady, float(np.sum(np.asarray(first) - steady)), outputs


def chunk_stream(wave: np.ndarray, size: int) -> list:
    """Zero-padded ``[1, size]`` device chunks covering ``wave`` (what a flushed stream sees)."""
    n = max(1, -(-len(wave) // size))
    padded = np.zeros(n * size, np.float32)
    padded[: len(wave)] = wave
    return [jax.device_put(c[None]) for c in padded.reshape(n, size)]


def bench_step(streamer: StreamingTranscriber, waves) -> dict:
    """Per-chunk latency of the jitted step alone (batch 1, block_until_ready), after warm-up."""
    params = streamer.params
    state = streamer.init_state(params, 1)
    probe = jax.device_put(np.zeros((1, streamer.chunk_samples), np.float32))
    warmup = []  # carry the state: a committed state (e.g. with checkpoint params) can recompile
    for _ in range(4):
        t0 = time.perf_counter()
        state, out = streamer.step(params, state, probe)
        jax.block_until_ready((state, out))
        warmup.append(time.perf_counter() - t0)
    times = []
    for w in waves:  # one stream per utterance, from the zero state
        state = streamer.init_state(params, 1)
        for chunk in chunk_stream(w, streamer.chunk_samples):
            t0 = time.perf_counter()
            state, out = streamer.step(params, state, chunk)
            jax.block_until_ready((state, out))
            times.append(time.perf_counter() - t0)
    lat = evaluation.latency_summary(times)
    return {"chunks": len(times), **lat, "seconds": float(np.sum(times)),
            "compile_s": max(0.0, sum(warmup) - len(warmup) * lat["median_ms"] / 1e3),
            "warmup_ms": [1e3 * t for t in warmup]}


def bench_session(streamer: StreamingTranscriber, waves, repeats: int) -> dict:
    """The live path, ``session().feed`` one chunk at a time + ``finish``: step, host copy and
    the frame-synchronous decoder. After a warm-up pass, ``repeats`` timed passes: per-chunk
    p50/p95 pooled over them, and total seconds as the offline rows count them (per utterance
    the median over passes, summed)."""
    def run_all():
        times, per_utt, hyps = [], [], []
        for w in waves:
            session, start_len = streamer.session(), len(times)
            for start in range(0, len(w), streamer.chunk_samples):
                t0 = time.perf_counter()
                session.feed(w[start:start + streamer.chunk_samples])
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hyps.append(session.finish())
            times.append(time.perf_counter() - t0)
            per_utt.append(sum(times[start_len:]))
        return times, per_utt, hyps
    run_all()
    passes = [run_all() for _ in range(max(1, repeats))]
    times = [t for p in passes for t in p[0]]
    seconds = float(np.sum(np.median(np.asarray([p[1] for p in passes]), axis=0)))
    return {"chunks": len(passes[0][0]), **evaluation.latency_summary(times),
            "seconds": seconds, "hypotheses": passes[-1][2]}


def bench_pocketsphinx(waves, refs, duration: float) -> dict:
    """RTF and CER of pocketsphinx's default English model, or ``available: False``."""
    with evaluation.Stopwatch() as load:
        judge = judges.pocketsphinx_judge(16000)
    if judge is None:
        return {"available": False, "reason": "pocketsphinx not importable (pip install -e '.[eval]')"}
    hyps, total = [], 0.0
    for w in waves:
        with evaluation.Stopwatch() as sw:  # includes the float -> PCM-16 conversion
            hyps.append(judge.transcribe(w))
        total += sw.seconds
    return {"available": True, "rtf": total / duration, "load_s": load.seconds,
            "cer": evaluation.error_rates(refs, hyps)["cer"], "hypotheses": hyps}


def run(args) -> dict:
    """Runs every benchmark and returns the JSON-ready result (rows for the table included)."""
    info = machine_info()
    s_task, s_params, s_trained = load_model(args.workdir, "stt_synth_streaming")
    o_task, o_params, o_trained = load_model(args.offline_workdir, "stt_synth")
    mel = s_task.mel
    waves, texts = make_test_audio(args.seconds, mel.sample_rate, args.seed, args.voice)
    refs = [text.normalize(t) for t in texts]
    duration = sum(len(w) for w in waves) / mel.sample_rate
    weights = {True: "trained", False: "random init"}
    rows, details = [], {}

    def cer(hyps, trained):
        return evaluation.error_rates(refs, hyps)["cer"] if trained else None

    # 1. offline, bidirectional: numpy log-mel + one jitted forward per utterance (exact length)
    def offline(w):
        feats = audio.log_mel(w, o_task.mel)
        return o_task.log_probs(o_params, {"features": feats[None],
                                           "feature_lengths": np.array([len(feats)], np.int32)})
    steady, compile_s, outs = time_per_utterance(offline, waves, args.repeats)
    greedy = [o_task.tokenizer.decode(decoding.ctc_greedy(lp[0], n[0])) for lp, n in outs]
    rows.append({"system": "offline bidirectional (log-mel + forward)", "weights": weights[o_trained],
                 "rtf": float(steady.sum() / duration), "compile_s": compile_s,
                 "cer": cer(greedy, o_trained), "notes": f"greedy; {len(waves)} utts, exact shapes"})

    # The decoding settings of the configs (beam size, prior weight, length bonus), with a
    # text prior fitted on generated sentences that are not in the test set.
    test_set = set(refs)
    prior_text = [s for s in generate_sentences(args.prior_sentences, seed=0)
                  if text.normalize(s) not in test_set]
    d = o_task.inference
    prior = CharNGramPrior(order=d["prior_order"]).fit(prior_text)
    decoders = {"greedy": ({**s_task.inference, "greedy": True}, None),
                "beam": ({**s_task.inference, "greedy": False}, prior)}

    # 2. streaming model, offline path: its step under lax.scan (contract.scan_offline), then the
    #    same frame-synchronous decoder fed every frame at once
    chunk0 = s_task.inference["chunk_ms"]
    offline_rtf = {}
    for name, (settings, p) in decoders.items():
        scan = StreamingTranscriber(s_task.model, s_params, mel, chunk0, settings=settings, prior=p)
        steady, compile_s, outs = time_per_utterance(scan.transcribe_offline, waves, args.repeats)
        offline_rtf[name] = float(steady.sum() / duration)
        rows.append({"system": f"streaming model, offline (scan), {name}",
                     "weights": weights[s_trained], "chunk_ms": chunk0, "rtf": offline_rtf[name],
                     "compile_s": compile_s, "cer": cer([o.text for o in outs], s_trained),
                     "notes": "scan_offline of the step"})

    # 3. streaming: per-chunk step latency, and the live session path with either decoder
    for chunk_ms in args.chunk_ms:
        step = bench_step(StreamingTranscriber(s_task.model, s_params, mel, chunk_ms), waves)
        details[f"step_{chunk_ms}ms"] = step
        rows.append({"system": "streaming step (jit, batch 1)", "weights": weights[s_trained],
                     "chunk_ms": chunk_ms, "rtf": step["seconds"] / duration,
                     "median_ms": step["median_ms"], "p95_ms": step["p95_ms"],
                     "compile_s": step["compile_s"], "notes": f"{step['chunks']} chunks"})
        for name, (settings, p) in decoders.items():
            res = bench_session(StreamingTranscriber(s_task.model, s_params, mel, chunk_ms,
                                                     settings=settings, prior=p), waves,
                                args.repeats)
            res["rtf"] = res["seconds"] / duration
            res["vs_offline"] = res["rtf"] / offline_rtf[name]
            details[f"session_{name}_{chunk_ms}ms"] = {k: v for k, v in res.items()
                                                       if k != "hypotheses"}
            rows.append({"system": f"streaming session().feed, {name}",
                         "weights": weights[s_trained], "chunk_ms": chunk_ms, "rtf": res["rtf"],
                         "median_ms": res["median_ms"], "p95_ms": res["p95_ms"],
                         "cer": cer(res["hypotheses"], s_trained),
                         "notes": f"{res['vs_offline']:.2f}x offline scan ({chunk0} ms)"})

    # 4. beam search + text prior (numpy) on the offline model's posteriors
    beam_settings = {**d, "greedy": False}

    def beam(item):
        lp, n = item
        return o_task.tokenizer.decode(decoding.decode(lp[0], n[0], beam_settings, prior))
    steady, _, beamed = time_per_utterance(beam, [offline(w) for w in waves], args.repeats)
    rows.append({"system": "beam search + text prior (numpy)", "weights": weights[o_trained],
                 "rtf": float(steady.sum() / duration), "cer": cer(beamed, o_trained),
                 "notes": f"beam {d['beam_size']}, {d['prior_order']}-gram on "
                          f"{len(prior_text)} sentences"
                          + ("" if o_trained else "; untrained posteriors, cost differs from trained")})

    # 5. pocketsphinx baseline
    ps = bench_pocketsphinx(waves, refs, duration)
    details["pocketsphinx"] = {k: v for k, v in ps.items() if k != "hypotheses"}
    rows.append({"system": "pocketsphinx (default en-us)", "weights": "pretrained",
                 "rtf": ps.get("rtf"), "cer": ps.get("cer"),
                 "notes": f"model load {ps['load_s']:.2f}s" if ps["available"] else "not installed"})

    return {"command": shlex.join([sys.executable, *sys.argv]), "machine": info,
            "audio": {"seconds": duration, "utterances": len(waves), "sample_rate": mel.sample_rate,
                      "voice": args.voice, "sentence_seed": args.seed},
            "models": {"streaming": {"workdir": args.workdir, "weights": weights[s_trained]},
                       "offline": {"workdir": args.offline_workdir, "weights": weights[o_trained]}},
            "repeats": args.repeats, "rows": rows, "details": details,
            "references": refs, "beam_hypotheses": beamed,
            "pocketsphinx_hypotheses": ps.get("hypotheses")}


def main(argv=None) -> None:
    """Parses flags, runs the benchmarks, prints the markdown table and writes the JSON."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workdir", help="trained streaming model (default: random init of "
                                     "configs/stt_synth_streaming.py)")
    p.add_argument("--offline-workdir", help="trained bidirectional model (default: random init "
                                             "of configs/stt_synth.py)")
    p.add_argument("--chunk-ms", type=int, nargs="+", default=[80, 160, 320],
                   help="streaming chunk sizes (multiples of 40 ms)")
    p.add_argument("--seconds", type=float, default=60.0, help="test audio to synthesise")
    p.add_argument("--repeats", type=int, default=3, help="timed passes for offline and beam RTF")
    p.add_argument("--prior-sentences", type=int, default=3000, help="sentences to fit the text prior")
    p.add_argument("--seed", type=int, default=1234, help="sentence seed of the test audio")
    p.add_argument("--voice", default="en-us", help="eSpeak voice of the test audio")
    p.add_argument("--out", default="benchmarks/results/stt.json", help="JSON output path")
    args = p.parse_args(argv)
    result = run(args)
    print(f"\n{result['audio']['seconds']:.1f} s of audio, {result['audio']['utterances']} "
          f"utterances; {result['machine']['platform']}, {result['machine']['cpu_count']} CPUs, "
          f"jax {result['machine']['jax']}\n")
    print_table(result["rows"], COLUMNS)
    write_result(result, args.out)


if __name__ == "__main__":
    main()
