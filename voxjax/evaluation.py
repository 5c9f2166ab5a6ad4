"""Evaluation helpers: error rates (jiwer), real-time factor and latency, plots, reports."""
from __future__ import annotations

import time

import jiwer
import numpy as np


def error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus-level CER and WER (jiwer) over normalised strings; empty references are skipped.

    Errors are summed over the corpus before dividing (not averaged per utterance), as in ESPnet
    and NeMo reports.
    """
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r.strip()]
    if not pairs:
        return {"cer": float("nan"), "wer": float("nan")}
    refs, hyps = zip(*pairs)
    return {"cer": float(jiwer.cer(list(refs), list(hyps))),
            "wer": float(jiwer.wer(list(refs), list(hyps)))}


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """Median and 95th percentile (in milliseconds) of a list of timings in seconds."""
    arr = np.asarray(seconds, np.float64) * 1e3
    return {"median_ms": float(np.median(arr)), "p95_ms": float(np.percentile(arr, 95))}


class Stopwatch:
    """Context manager that records wall time; block on JAX results inside the block."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def plot_curves(steps: list[int], series: dict[str, list[float]], path: str, title: str) -> None:
    """Saves training curves (one line per series) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(steps[: len(values)], values, label=name)
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Rows of dicts as a GitHub markdown table (floats to 4 significant digits)."""
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
