"""What every benchmark here shares: the machine record, the eSpeak test audio, the verdict
line, and the "print the table, write the JSON" ending. Imported by the scripts beside it.

voxjax is imported inside the functions that need it, so importing this module loads none of it:
a child of ``training_cost.py update --trees`` imports voxjax from another checkout."""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine_info() -> dict:
    """Platform, CPUs, versions, load and thread-related environment (recorded, never changed)."""
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "XLA_", "JAX_", "TF_CPP"))}
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "jax": jax.__version__, "jax_backend": jax.default_backend(),
            "numpy": np.__version__, "env": env,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def make_test_audio(seconds: float, sample_rate: int, seed: int, voice: str):
    """``(waves, texts)``: eSpeak utterances of generated sentences until ``seconds`` are reached."""
    from voxjax import audio, text
    from voxjax.corpus import generate_sentences, get_espeak
    engine, waves, texts, total = get_espeak(), [], [], 0.0
    count = max(8, int(seconds))
    while total < seconds:
        for sentence in generate_sentences(count, seed=seed)[len(texts):]:
            wave, rate = engine.synthesize(text.verbalize(sentence), voice, 175, 50, seed=len(texts))
            waves.append(audio.prepare_wave(wave, rate, sample_rate))
            texts.append(sentence)
            total += len(waves[-1]) / sample_rate
            if total >= seconds:
                break
        count *= 2
    return waves, texts


def verdict(label: str, value: float, limit: float) -> str:
    """``'label <= limit: met'`` or ``'... missed'``."""
    return f"{label} <= {limit:g}: {'met' if value <= limit else 'missed'}"


def print_table(rows: list[dict], columns) -> None:
    """The result rows as one markdown table on stdout (None shown as an empty cell)."""
    from voxjax import evaluation
    print(evaluation.markdown_table(
        [{k: ("" if v is None else v) for k, v in r.items()} for r in rows], columns))


def write_result(result: dict, path: str) -> None:
    """Writes the benchmark's JSON record to ``path`` (folders made) and says where."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {path}")
