"""The STT task end to end on the tiny synthetic corpus: it learns and never recompiles."""
import json
import os

import numpy as np

from voxjax import config as config_lib, inference, registry, summaries, train
from voxjax.evaluation import stt as evaluation_stt


def _rows(workdir, split):
    return summaries.read_metrics(workdir, split)


def test_tiny_model_learns_and_compiles_once_per_bucket(tiny_corpus, tmp_path):
    config = config_lib.load("stt_synth", "tiny")
    config.data.root = tiny_corpus
    config.train.steps, config.train.log_every, config.train.eval_every = 60, 10, 60
    train.train_and_evaluate(config, str(tmp_path))
    rows = _rows(str(tmp_path), "train")
    losses = [r["loss"] for r in rows]
    assert np.all(np.isfinite(losses)) and len(losses) == 6
    assert losses[-1] < 0.6 * losses[0], losses  # ~12 epochs of 39 utterances
    # Two buckets -> two executables, compiled in the first epoch and never again.
    assert {r["compiles"] for r in rows} == {len(config.data.buckets)}


def test_evaluate_reports_greedy_and_beam_on_every_test_utterance(tiny_offline_workdir):
    result = evaluation_stt.evaluate_workdir(tiny_offline_workdir, "test_unseen")
    with open(os.path.join(tiny_offline_workdir, "eval_test_unseen.json")) as f:
        saved = json.load(f)
    manifest = [json.loads(line) for line in open(os.path.join(
        inference.load_workdir(tiny_offline_workdir)[0].data.root, "manifest.jsonl"))]
    expected = sum(u["split"] == "test_unseen" for u in manifest)
    assert result["utterances"] == expected == len(saved["utterances"]) > 0
    for key in ("cer", "wer", "cer_beam", "wer_beam"):
        assert 0.0 <= result[key] <= 5.0
    assert os.path.exists(os.path.join(tiny_offline_workdir, registry.PRIOR_FILE))
