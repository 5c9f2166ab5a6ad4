"""The ``voxjax`` command: parses flags and calls library functions, nothing more.

    voxjax corpus --out DIR [--size N] [--seed S] [--randomize-voices]
    voxjax train --config configs/X.py[:tiny] --workdir W [--config.a.b=v ...]
    voxjax models [--json]
    voxjax export --workdir W --name N [--out DIR] [--requires ROLE=NAME ...]
    voxjax eval --workdir W | --model NAME [--split test] [--greedy] [--prior-weight X ...]
    voxjax eval --workdir W | --model NAME --dataset librispeech|arctic|kathleen|ljspeech|fsdd
                [--root DIR] [--split S] [--out-dir D]
    voxjax eval --workdir W_tts_or_decoder [--decoder W_decoder] [--judge W_stt] [--limit N]
    voxjax eval --workdir W_speaker [--split valid | --dataset librispeech --split dev]
    voxjax eval --workdir W_vc --decoder W_decoder --judge W_stt|pocketsphinx
                --speaker-model W_speaker [--targets K] [--zero-shot K] [--tts W_tts] [--limit N]
                [--dataset D --root DIR --split S]   (human sources: any-to-one conversion)
    voxjax transcribe [--workdir W | --model NAME (default stt-en)] [--stream] [--chunk-ms N]
                      [--greedy] [--json] FILE...
    voxjax synthesize [--tts W1 --decoder W2 | --model NAME (default tts-kathleen)] [--speaker S]
                      [--stream] [--pace P] --out OUT.wav "TEXT"
    voxjax synthesize --tts W1 --decoder W2 --text-file F --out-dir D   (0001.wav, ...)
    voxjax synthesize --tts W1 --list-speakers
    voxjax convert --vc W1 --decoder W2 [--stt W3] [--speaker S | --target-wav REF.wav]
                   [--stream] [--chunk-ms N] --out OUT.wav IN.wav
    voxjax convert --via-text --stt W1 --tts W2 --decoder W3 [--speaker S] --out OUT.wav IN.wav
    voxjax serve [--model NAME ... | --stt W [--tts W --decoder W] [--vc W --speaker S]]
                 [--host H] [--port P]
    voxjax main --workdir W [--tiny] [--lanes N] [--real-data DIR]

Known failures (bad audio or text, missing data or checkpoints, wrong config keys: see
``voxjax.errors.is_user_error``) end with a one-line ``voxjax: error: ...`` on stderr and exit
code 2; set VOXJAX_DEBUG=1 for a traceback. Any other exception is a bug: its traceback is shown
and the exit code is 1. A training or the main job stopped by SIGTERM (``voxjax.errors.Stopped``,
progress saved) prints one ``voxjax: stopped: ...`` line and exits with 143; the same command
resumes.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback

import numpy as np

from voxjax.errors import Stopped, UserError, is_user_error

EXIT_USAGE = 2  # user errors (bad input, missing files, refused configs)
EXIT_BUG = 1  # any other exception: a traceback is printed
EXIT_STOPPED = 143  # 128 + SIGTERM: stopped on request, progress saved; rerun to resume


class CLIError(UserError, ValueError):
    """A user-facing problem with the command line, reported as one line."""


def _parse_config(argv: list[str]):
    """Parses ``--config FILE_OR_NAME[:arg]`` plus ``--config.a.b=v`` overrides with
    ml_collections; a name (``stt_synth``) is found like :func:`voxjax.config.load` finds it,
    in the checkout's configs/ or in an installed wheel."""
    from absl import flags
    from ml_collections import config_flags

    from voxjax import config as config_lib
    argv = list(argv)
    for i, arg in enumerate(argv):  # config_flags would only say "earlier failure to load"
        value_at = i + 1 if arg == "--config" and i + 1 < len(argv) else (
            i if arg.startswith("--config=") else None)
        if value_at is None:
            continue
        value = argv[value_at][len("--config="):] if value_at == i else argv[value_at]
        name, colon, config_arg = value.partition(":")
        try:  # a path, or a config name: configs/<name>.py or the installed voxjax.configs
            path = config_lib.find(name)
        except FileNotFoundError as e:
            raise CLIError(str(e)) from None
        resolved = path + colon + config_arg
        argv[value_at] = "--config=" + resolved if value_at == i else resolved
    values = flags.FlagValues()
    # sys_argv: config_flags otherwise reads overrides from sys.argv, not from ``argv``.
    config_flags.DEFINE_config_file("config", None, "experiment config file", flag_values=values,
                                    lock_config=True, sys_argv=["voxjax"] + argv)
    flags.DEFINE_string("workdir", None, "output folder", flag_values=values)
    try:
        values(["voxjax"] + argv)
    except flags.Error as e:
        raise CLIError(str(e).splitlines()[0]) from None
    except (KeyError, AttributeError, ValueError, TypeError) as e:
        raise CLIError(f"bad config override: {str(e).strip(chr(34))}") from None
    if values.config is None:
        raise CLIError("--config is required (e.g. --config configs/stt_synth.py)")
    if not values.workdir:
        raise CLIError("--workdir is required")
    return values.config, values.workdir


def cmd_corpus(args) -> int:
    """Builds (or finds cached) the synthetic corpus."""
    from voxjax.corpus import build_corpus
    print(build_corpus(args.out, size=args.size, seed=args.seed,
                       randomize_voices=args.randomize_voices))
    return 0


def cmd_train(args, rest: list[str]) -> int:
    """Trains one config in a workdir (resuming if it holds a checkpoint)."""
    from voxjax import train
    config, workdir = _parse_config(rest)
    metrics = train.train_and_evaluate(config, workdir)
    print(json.dumps({k: round(float(v), 5) for k, v in metrics.items()}))
    if metrics.get("preempted"):  # not finished: a requeue script must not take it as done
        raise Stopped(f"training saved its checkpoint at step {int(metrics['step'])}; run the "
                      "same command again to resume")
    return 0


def _decode_flags(args) -> dict:
    """The decoding flags given (None = keep ``config.inference``)."""
    return {"greedy": True if args.greedy else None, "beam_size": args.beam_size,
            "prior_weight": args.prior_weight, "length_bonus": args.length_bonus}


def _model_source(args, default: str | None = None) -> None:
    """Resolves ``--model NAME`` (or ``default`` when neither flag is given) into
    ``args.workdir``: the published model's folder, its checksums verified."""
    from voxjax import registry
    if args.model and args.workdir:
        raise CLIError("give --workdir or --model, not both")
    if args.model or (default and not args.workdir):
        args.workdir = registry.model_dir(args.model or default)
    if not args.workdir:
        raise CLIError("--workdir W or --model NAME is required")


def cmd_models(args) -> int:
    """Lists the published models."""
    from voxjax import registry
    rows = [registry.describe(registry.model_dir(n)) for n in registry.names()]
    if args.json:
        print(json.dumps(rows, indent=1))
    for row in [] if args.json else rows:
        print(f"{row['name']}\t{row['task']}\t{row['parameters']:,} parameters\t"
              f"{row['bytes'] / 1e6:.1f} MB\t{row['title']}")
    return 0


def cmd_export(args) -> int:
    """Writes a trained workdir as a published model folder."""
    from voxjax.registry import publish
    requires = {}
    for link in args.requires:
        role, _, name = link.partition("=")
        if not (role and name):
            raise CLIError(f"--requires {link!r}: expected ROLE=NAME, e.g. "
                           "decoder=decoder-kathleen")
        requires[role] = name
    print(publish.export(args.workdir, args.name, args.out, requires))
    return 0


def cmd_eval(args) -> int:
    """Evaluates a trained workdir or published model by its task (``voxjax.evaluation``);
    writes ``eval_*.json`` to ``--out-dir`` (default: the workdir; runs/eval/NAME for --model)."""
    from voxjax import checkpoint
    _model_source(args)
    out_dir = args.out_dir
    task = checkpoint.load_config(args.workdir).task
    if args.model and task == "tts":
        from voxjax import registry  # a published voice brings its decoder and judge
        args.decoder = args.decoder or registry.required(args.workdir, "decoder")
        args.judge = args.judge or ("stt-en" if "stt-en" in registry.names() else None)
    if task == "vc":
        from voxjax.evaluation import conversion
        missing = [f for f in ("decoder", "judge", "speaker_model") if not getattr(args, f)]
        if missing:
            raise CLIError("a vc workdir is judged with " + ", ".join(
                "--" + f.replace("_", "-") for f in missing))
        if args.dataset and not args.root:
            raise CLIError("--dataset needs --root, the folder of the source recordings")
        result = conversion.evaluate_workdir(
            args.workdir, args.decoder, args.judge, args.speaker_model,
            args.split or ("all" if args.dataset else "test"), args.limit or 25, args.targets,
            args.zero_shot, args.tts, (args.dataset, args.root) if args.dataset else None)
        result = {k: v for k, v in result.items() if not isinstance(v, list)}
    elif task in ("tts", "decoder"):  # judged by an STT model
        from voxjax.evaluation import tts
        if args.dataset:
            raise CLIError("--dataset evaluates speech-to-text and speaker workdirs")
        result = tts.evaluate_workdir(args.workdir, args.split or "test", args.decoder,
                                      args.judge, args.limit or 100, out_dir)
    elif task == "speaker":
        from voxjax.evaluation import speaker
        result = speaker.evaluate_workdir(args.workdir, args.split, args.dataset, args.root,
                                          args.limit, out_dir)
    else:
        from voxjax.evaluation import stt
        result = stt.evaluate_workdir(args.workdir, args.split, decode=_decode_flags(args),
                                      dataset=args.dataset, root=args.root, limit=args.limit,
                                      out_dir=out_dir)
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in result.items()))
    return 0


def cmd_transcribe(args) -> int:
    """Transcribes audio files, offline or chunk by chunk."""
    from voxjax import inference
    _model_source(args, default="stt-en")
    transcriber = inference.Transcriber(args.workdir, stream=args.stream,
                                        chunk_ms=args.chunk_ms, **_decode_flags(args))
    failures = 0
    for path in args.files:
        try:
            hyp = transcriber(path)
        except ValueError as e:  # AudioError and friends: report, keep going with other files
            print(f"voxjax: error: {str(e).splitlines()[0]}", file=sys.stderr)
            failures += 1
            continue
        print(json.dumps({"path": path, "text": hyp}) if args.json else f"{path}\t{hyp}",
              flush=True)
    return EXIT_USAGE if failures else 0


def cmd_synthesize(args) -> int:
    """Speaks text with a trained TTS + conv decoder pair, offline or chunk by chunk."""
    from voxjax import audio, inference, registry
    if args.model and args.tts:
        raise CLIError("give --tts or --model, not both")
    if args.model or not args.tts:
        args.tts = registry.model_dir(args.model or "tts-kathleen")
        args.decoder = args.decoder or registry.required(args.tts, "decoder")
    if args.list_speakers:
        _, task, _ = inference.load_workdir(args.tts)
        print("\n".join(task.speakers))
        return 0
    if not args.decoder:
        raise CLIError("--decoder is required (a conv decoder workdir)")
    if (args.text is None) == (args.text_file is None):
        raise CLIError('give either TEXT or --text-file F')
    if args.text is not None and not args.out:
        raise CLIError("--out OUT.wav is required with TEXT")
    if args.text_file is not None and not args.out_dir:
        raise CLIError("--out-dir D is required with --text-file")
    if args.pace is not None and not args.pace > 0:
        raise CLIError(f"--pace must be positive, got {args.pace}")
    synthesizer = inference.load_synthesizer(args.tts, args.decoder, args.chunk_frames,
                                             args.max_chunk_frames)
    if args.text is not None:
        jobs = [(args.text, args.out)]
    else:
        with open(args.text_file, encoding="utf-8") as f:
            lines = f.read().splitlines()
        os.makedirs(args.out_dir, exist_ok=True)
        jobs = [(line, os.path.join(args.out_dir, f"{i:04d}.wav"))
                for i, line in enumerate(lines, start=1)]
    failures = 0
    for number, (text, out) in enumerate(jobs, start=1):
        try:
            if args.stream:
                chunks = list(synthesizer.stream(text, args.speaker, args.pace))
                wave = np.concatenate(chunks or [np.zeros(0)])
            else:
                wave = synthesizer.synthesize(text, args.speaker, args.pace)[0]
        except ValueError as e:  # TextError, unknown speaker: report, go on with other lines
            if len(jobs) == 1:
                raise
            print(f"voxjax: error: line {number}: {str(e).splitlines()[0]}", file=sys.stderr)
            failures += 1
            continue
        audio.save_audio(out, wave, synthesizer.sample_rate)
        print(f"{out}\t{len(wave) / synthesizer.sample_rate:.2f} s", flush=True)
    return EXIT_USAGE if failures else 0


def cmd_convert(args) -> int:
    """Converts a recording into a training speaker's voice (or a reference recording's),
    offline or chunk by chunk."""
    from voxjax import audio, inference
    if args.speaker and args.target_wav:
        raise CLIError("give --speaker or --target-wav, not both")
    if args.via_text:
        if not (args.stt and args.tts) or args.vc:
            raise CLIError("--via-text converts with --stt (causal) and --tts, without --vc")
        converter = inference.load_via_text_converter(args.stt, args.tts, args.decoder,
                                                      args.chunk_ms)
    elif not args.vc:
        raise CLIError("--vc is required (or --via-text with --stt and --tts)")
    else:
        converter = inference.load_converter(args.vc, args.decoder, args.chunk_ms, args.stt)
    wave = audio.load_audio(args.input, converter.sample_rate)
    if audio.is_silent(wave):
        raise CLIError(f"{args.input} is silent: nothing to convert")
    reference = (audio.load_audio(args.target_wav, converter.sample_rate) if args.target_wav
                 else None)
    out = converter.convert(wave, converter.sample_rate, args.speaker, stream=args.stream,
                            reference=reference)
    audio.save_audio(args.out, out, converter.sample_rate)
    print(f"{args.out}\t{len(out) / converter.sample_rate:.2f} s", flush=True)
    return 0


def _published_roles(names: list[str]) -> dict[str, str]:
    """``{'stt'|'tts'|'vc'|'decoder': folder}`` of published models by their task; a voice or a
    converter brings the decoder it was published with."""
    from voxjax import checkpoint, registry
    roles = {}
    for name in names:
        folder = registry.model_dir(name)
        task = checkpoint.load_config(folder).task
        if task not in ("stt", "tts", "vc"):
            raise CLIError(f"--model {name} is a {task!r} model; serve takes stt, tts and vc ones")
        roles[task] = folder
        if task in ("tts", "vc"):
            roles["decoder"] = registry.required(folder, "decoder")
    return roles


def cmd_serve(args) -> int:
    """The live server; with no model flags, the published models (stt-en, tts-kathleen,
    vc-kathleen: those that are installed)."""
    from voxjax import live, registry
    if args.model and (args.stt or args.tts or args.vc):
        raise CLIError("give --model NAME or workdir flags (--stt, --tts, --vc), not both")
    if not (args.model or args.stt or args.tts or args.vc):
        args.model = [n for n in ("stt-en", "tts-kathleen", "vc-kathleen")
                      if n in registry.names()]
        if not args.model:
            raise CLIError("no model flags and no published models: give --stt, --tts or --vc")
    if args.model:
        roles = _published_roles(args.model)
        args.stt, args.tts, args.vc = roles.get("stt"), roles.get("tts"), roles.get("vc")
        args.decoder = args.decoder or roles.get("decoder")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger(__name__).warning("serving on %s: reachable from other machines",
                                            args.host)
    given = {"max_sessions": args.max_sessions, "max_per_address": args.max_per_address,
             "start_timeout": args.start_timeout, "idle_timeout": args.idle_timeout}
    limits = live.ServerLimits(**{k: v for k, v in given.items() if v is not None},
                               allowed_hosts=tuple(args.allow_host),
                               allowed_origins=tuple(args.allow_origin))  # checked before loading
    models = live.LiveModels.load(args.stt, args.tts, args.decoder, args.vc, args.speaker,
                                  args.chunk_ms)
    live.serve(models, args.host, args.port, limits)
    return 0


def cmd_main(args) -> int:
    """The README's main job: corpus, training, evaluation, streaming demo, report."""
    from voxjax import main_job
    report = main_job.run(args.workdir, tiny=args.tiny, real_data=args.real_data,
                          lanes=args.lanes)
    print(f"report: {report}")
    return 0


def _add_decode_flags(p) -> None:
    p.add_argument("--greedy", action="store_true", help="best-path CTC instead of beam search")
    p.add_argument("--beam-size", type=int, help="override config.inference.beam_size")
    p.add_argument("--prior-weight", type=float, help="override config.inference.prior_weight")
    p.add_argument("--length-bonus", type=float, help="override config.inference.length_bonus")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of subcommands (``train`` keeps absl-style config flags)."""
    from voxjax.data.sources import EVALUATION_SETS
    parser = argparse.ArgumentParser(prog="voxjax", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus", help="build the built-in synthetic corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--randomize-voices", action="store_true",
                   help="draw rate, pitch, pitch range and sometimes a Klatt voice per utterance "
                        "(a different corpus from the default one)")
    sub.add_parser("train", help="train a config (--config FILE --workdir W [--config.x=y])",
                   add_help=False)
    p = sub.add_parser("models", help="list the published models")
    p.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    p = sub.add_parser("export", help="write a trained workdir as a published model")
    p.add_argument("--workdir", required=True)
    p.add_argument("--name", required=True, help="model name, e.g. stt-en")
    p.add_argument("--out", help="folder to write N/ into (default: the package's registry)")
    p.add_argument("--requires", action="append", default=[], metavar="ROLE=NAME",
                   help="a published model this one runs with, e.g. decoder=decoder-kathleen "
                        "(its checksum is recorded; repeatable)")
    p = sub.add_parser("eval", help="evaluate a trained workdir or published model")
    p.add_argument("--workdir")
    p.add_argument("--model", help="a published model (`voxjax models`) instead of --workdir")
    p.add_argument("--split", help="split to evaluate (default: test; with --dataset: all)")
    p.add_argument("--dataset", choices=tuple(EVALUATION_SETS),
                   help="evaluate on this set (at --root, default its folder in ../shared/data) "
                        "instead of the config's own data; arctic: each voice apart")
    p.add_argument("--root", help="dataset folder (or manifest.jsonl) for --dataset")
    p.add_argument("--out-dir", help="where eval_*.json goes (default: the workdir; "
                                     "runs/eval/NAME for a published model)")
    _add_decode_flags(p)
    p.add_argument("--decoder", help="TTS workdirs: conv decoder workdir to synthesise with")
    p.add_argument("--judge", help="TTS/decoder/vc workdirs: STT workdir that transcribes the "
                   "audio (vc: or 'pocketsphinx')")
    p.add_argument("--limit", type=int,
                   help="utterances judged (TTS/decoder: 100; vc: 25; STT: all by default)")
    p.add_argument("--speaker-model", help="vc workdirs: speaker workdir judging the voice")
    p.add_argument("--tts", help="vc workdirs: also judge conversion via text with this TTS")
    p.add_argument("--targets", type=int, default=4, help="vc: training speakers converted to")
    p.add_argument("--zero-shot", type=int, default=0,
                   help="vc (embedding-conditioned): unseen speakers converted to, from a "
                        "reference clip each")
    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("--workdir")
    p.add_argument("--model", help="a published model (default: stt-en without --workdir)")
    p.add_argument("--stream", action="store_true", help="feed audio chunk by chunk")
    p.add_argument("--chunk-ms", type=int, help="streaming chunk (default: config.inference)")
    _add_decode_flags(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("synthesize", help="speak text with a TTS + conv decoder workdir pair")
    p.add_argument("--tts", help="acoustic model workdir")
    p.add_argument("--model", help="a published voice (default: tts-kathleen without --tts); "
                                   "its decoder comes with it")
    p.add_argument("--decoder", help="conv decoder workdir")
    p.add_argument("--speaker", help="voice as in the corpus manifest (default: the first "
                                     "of --list-speakers)")
    p.add_argument("--stream", action="store_true", help="synthesise chunk by chunk")
    p.add_argument("--pace", type=float, help="duration scale, > 1 slower (default: the TTS "
                                              "config's inference.pace)")
    p.add_argument("--chunk-frames", type=int,
                   help="mel frames in a sentence's first chunk, 10 ms each (default: "
                        "config.inference)")
    p.add_argument("--max-chunk-frames", type=int,
                   help="later chunks double up to this many frames (default: config.inference; "
                        "equal to --chunk-frames for fixed chunks)")
    p.add_argument("--out", help="output wav (with TEXT)")
    p.add_argument("--text-file", help="one text per line; writes 0001.wav ... to --out-dir")
    p.add_argument("--out-dir")
    p.add_argument("--list-speakers", action="store_true", help="print speakers, default first")
    p.add_argument("text", nargs="?")
    p = sub.add_parser("convert", help="speak a recording in another voice (vc + decoder)")
    p.add_argument("--vc", help="conversion model workdir (task vc)")
    p.add_argument("--via-text", action="store_true",
                   help="convert through text instead: --stt words -> --tts in the target voice")
    p.add_argument("--tts", help="--via-text: TTS acoustic model workdir")
    p.add_argument("--decoder", required=True, help="conv decoder workdir")
    p.add_argument("--stt", help="content STT workdir (default: the vc config's "
                                 "vc.content_workdir)")
    p.add_argument("--speaker", help="target voice, a training speaker (default: the first)")
    p.add_argument("--target-wav", help="target voice from a reference recording (5-10 s; "
                                        "needs a vc model trained with vc.speaker=embedding)")
    p.add_argument("--stream", action="store_true", help="convert chunk by chunk")
    p.add_argument("--chunk-ms", type=int, help="streaming chunk (default: config.inference)")
    p.add_argument("--out", required=True, help="output wav")
    p.add_argument("input", help="source recording (any soundfile format)")
    p = sub.add_parser("serve", help="live server: transcribe, speak and convert from a browser")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="a published model, by its task (repeatable; default with no model "
                        "flags: the published stt-en, tts-kathleen and vc-kathleen)")
    p.add_argument("--stt", help="causal STT workdir (live transcription)")
    p.add_argument("--tts", help="TTS workdir (speak typed text; needs --decoder)")
    p.add_argument("--vc", help="vc workdir (live conversion; needs --decoder)")
    p.add_argument("--decoder", help="conv decoder workdir")
    p.add_argument("--speaker", help="default target voice of convert and speak")
    p.add_argument("--chunk-ms", type=int, help="streamed chunk (default: each config's)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-sessions", type=int, help="started sessions at once (default 16)")
    p.add_argument("--max-per-address", type=int,
                   help="open sockets per client address (default 4; behind a proxy every "
                        "client has the proxy's address)")
    p.add_argument("--start-timeout", type=float, metavar="SECONDS",
                   help="time a new socket has to send its start message (default 5)")
    p.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                   help="time a session may send nothing while no work runs (default 30)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another name the server is reached by, e.g. a reverse proxy's "
                        "(repeatable; default: the address it is bound to, and localhost)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="another page origin allowed to connect (repeatable)")

    p = sub.add_parser("main", help="the main job: corpus, train, evaluate, report")
    p.add_argument("--workdir", default="runs/main")
    p.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke run in minutes)")
    p.add_argument("--lanes", type=int, metavar="N",
                   help="models trained at once, each in its own process on its share of the "
                        "cores (default: 2 on a CPU with 2+ cores, else 1)")
    p.add_argument("--real-data", metavar="DIR",
                   help="also judge the STT models zero-shot on the human test sets in DIR "
                        "(minilibrispeech/, ljspeech32/, fsdd/, e.g. ../shared/data)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``voxjax`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "jax._src", "orbax", "grain"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = build_parser()
    if argv[:1] == ["train"]:
        args, rest = argparse.Namespace(command="train"), argv[1:]
    else:
        args, rest = parser.parse_args(argv), []
    handlers = {"corpus": cmd_corpus, "models": cmd_models, "export": cmd_export, "eval": cmd_eval,
                "transcribe": cmd_transcribe,
                "synthesize": cmd_synthesize, "convert": cmd_convert, "serve": cmd_serve,
                "main": cmd_main}
    try:
        code = cmd_train(args, rest) if args.command == "train" else handlers[args.command](args)
    except KeyboardInterrupt:
        print("voxjax: interrupted", file=sys.stderr)
        return 130
    except Stopped as e:  # SIGTERM with the progress saved: not an error of input or code
        print(f"voxjax: stopped: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as e:  # noqa: BLE001 - sorted into user errors and bugs below
        if os.environ.get("VOXJAX_DEBUG"):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if is_user_error(e):  # bad input: one line, no traceback
            print(f"voxjax: error: {message}", file=sys.stderr)
            return EXIT_USAGE
        # Anything else is a bug: show where it happened.
        traceback.print_exc(file=sys.stderr)
        print(f"voxjax: internal error (a bug, please report it): {type(e).__name__}: {message}",
              file=sys.stderr)
        return EXIT_BUG
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
