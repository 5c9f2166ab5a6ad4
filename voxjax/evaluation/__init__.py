"""Evaluation: how good a trained model is, one module per task, one home for the metrics.

- :mod:`~voxjax.evaluation.metrics`: error rates, latency, mel-cepstral distortion, Griffin-Lim,
  markdown tables (re-exported here: ``evaluation.error_rates``);
- :mod:`~voxjax.evaluation.plots`: the report's figures (re-exported here);
- :mod:`~voxjax.evaluation.judges`: who listens (STT models and pocketsphinx read the words,
  DNSMOS rates naturalness, a speaker model names the voice);
- :mod:`~voxjax.evaluation.stt`, :mod:`~voxjax.evaluation.tts`,
  :mod:`~voxjax.evaluation.conversion`, :mod:`~voxjax.evaluation.speaker`: ``evaluate_workdir``
  of each task (``voxjax eval``).

The task modules load trained models (``voxjax.inference``), so they are imported by name, not
from here: the tasks themselves import the metrics.
"""
from voxjax.evaluation.metrics import (Stopwatch, error_rates, griffin_lim, latency_summary,
                                       markdown_table, mel_cepstra, mel_cepstral_distortion)
from voxjax.evaluation.plots import plot_alignment, plot_curves, plot_durations, plot_mel

__all__ = ["Stopwatch", "error_rates", "griffin_lim", "latency_summary", "markdown_table",
           "mel_cepstra", "mel_cepstral_distortion", "plot_alignment", "plot_curves",
           "plot_durations", "plot_mel"]
