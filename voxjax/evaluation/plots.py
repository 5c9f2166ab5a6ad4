"""Figures of the main job's report (training curves, log-mels, alignments, durations), written
atomically through :func:`voxjax.files.savefig`. matplotlib is the ``plots`` extra: without it
a figure is skipped (logged once) and its function returns False."""
from __future__ import annotations

import functools
import logging

import numpy as np

from voxjax import files

log = logging.getLogger(__name__)


@functools.cache
def _pyplot():
    try:
        import matplotlib
    except ImportError:
        log.warning("matplotlib is not installed (pip install 'voxjax[plots]'): no plots")
        return None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    return plt


def plot_curves(steps: list[int], series: dict[str, list[float]], path: str, title: str) -> bool:
    """Saves training curves (one line per series) as a PNG; False without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return False

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(steps[: len(values)], values, label=name)
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    files.savefig(fig, path, dpi=100)
    plt.close(fig)
    return True


def _token_labels(tokens) -> tuple[list[str], int]:
    """Tick labels (a space shown as an open box) and a font size that keeps them legible."""
    labels = ["\u2423" if str(t) == " " else str(t) for t in tokens]
    return labels, 8 if len(labels) <= 40 else 5


def plot_mel(mel: np.ndarray, path: str, title: str) -> bool:
    """Saves a log-mel spectrogram ``[T, n_mels]`` as a PNG (time left to right, low bins down)."""
    plt = _pyplot()
    mel = np.asarray(mel, np.float32)
    fig, ax = plt.subplots(figsize=(8, 3))
    image = ax.imshow(mel.T, origin="lower", aspect="auto", interpolation="none", cmap="magma")
    fig.colorbar(image, ax=ax)
    ax.set_xlabel("frame")
    ax.set_ylabel("mel bin")
    ax.set_title(title)
    fig.tight_layout()
    files.savefig(fig, path, dpi=100)
    plt.close(fig)
    return True


def plot_alignment(alignment: np.ndarray, path: str, title: str, tokens=None) -> bool:
    """Saves an attention/alignment matrix ``[T_mel, N_tokens]`` as a PNG, tokens on the y axis."""
    plt = _pyplot()
    alignment = np.asarray(alignment, np.float32)
    fig, ax = plt.subplots(figsize=(8, max(3.0, min(12.0, 0.15 * alignment.shape[1]))))
    image = ax.imshow(alignment.T, origin="lower", aspect="auto", interpolation="none",
                      cmap="viridis")
    fig.colorbar(image, ax=ax)
    if tokens is not None:
        labels, size = _token_labels(tokens)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=size)
    ax.set_xlabel("mel frame")
    ax.set_ylabel("token")
    ax.set_title(title)
    fig.tight_layout()
    files.savefig(fig, path, dpi=100)
    plt.close(fig)
    return True


def plot_durations(durations, path: str, tokens=None, title: str = "token durations") -> bool:
    """Saves per-token durations (in frames) as a bar chart PNG, labelled with ``tokens``."""
    plt = _pyplot()
    durations = np.asarray(durations, np.float32).reshape(-1)
    fig, ax = plt.subplots(figsize=(max(4.0, min(16.0, 0.2 * len(durations))), 3))
    ax.bar(np.arange(len(durations)), durations, width=0.8)
    if tokens is not None:
        labels, size = _token_labels(tokens)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=size)
    ax.set_xlabel("token")
    ax.set_ylabel("frames")
    ax.set_title(title)
    fig.tight_layout()
    files.savefig(fig, path, dpi=100)
    plt.close(fig)
    return True
