"""Speaker-model evaluation (``voxjax eval`` on a speaker workdir): closed-set identification
over the speaker table on the model's own split, and on a named evaluation set
(:data:`voxjax.data.sources.EVALUATION_SETS`) the equal error rate of verification over every
pair of its recordings (speakers outside the table, e.g. Mini LibriSpeech ``dev``) and, for
voices in the table, identification among the set's own voices (e.g. the ARCTIC readers)."""
from __future__ import annotations

import itertools
import os

import numpy as np
from sklearn.metrics import roc_curve
from tqdm import tqdm

from voxjax import audio, files, inference, registry
from voxjax.data import manifest, sources


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> float:
    """The verification error rate where false acceptances equal false rejections: pairs with
    cosine ``scores``, ``same`` True for pairs of one speaker (linear between ROC points)."""
    same = np.asarray(same, bool)
    if same.all() or not same.any():
        raise ValueError("an equal error rate needs pairs of one speaker and of two")
    fpr, tpr, _ = roc_curve(same, scores)
    gap = (1.0 - tpr) - fpr  # falls from 1 to -1 as the threshold drops
    k = int(np.argmax(gap <= 0))  # the first point past the crossing
    if k == 0:
        return float(fpr[0])
    t = gap[k - 1] / (gap[k - 1] - gap[k])
    return float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))


def pair_scores(embeddings: np.ndarray, speakers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of every pair of unit embeddings and whether each pair shares its speaker."""
    pairs = list(itertools.combinations(range(len(speakers)), 2))
    scores = np.asarray([embeddings[a] @ embeddings[b] for a, b in pairs])
    same = np.asarray([speakers[a] == speakers[b] for a, b in pairs])
    return scores, same


def evaluate_workdir(workdir: str, split: str | None = None, dataset: str | None = None,
                     root: str | None = None, limit: int | None = None,
                     out_dir: str | None = None) -> dict:
    """Identification on ``split`` (default ``valid``) of the model's own data, or on evaluation
    set ``dataset`` (split default ``all``): its EER over all pairs and, where its voices are in
    the table, identification among those voices and over the whole table. ``limit``: that
    many recordings per voice group, spread over it. Writes ``eval_[<dataset>_]<split>.json``
    to ``out_dir`` (default: the workdir; ``runs/eval/<name>`` for a published model)."""
    config, task, params = inference.load_workdir(workdir)
    if config.task != "speaker":
        raise ValueError(f"{workdir} holds a {config.task!r} model, not a speaker model")
    out_dir = out_dir or registry.output_dir(workdir)
    if dataset is None:
        split = split or "valid"
        result = {"split": split, **task.evaluate(params, split)}
        files.write_json(os.path.join(out_dir, f"eval_{split}.json"), {"metrics": result})
        return result
    split = split or "all"
    utterances = [u for _, group in sources.evaluation_set(dataset, root, split)
                  for u in (manifest.spread(group, limit) if limit else group)]
    rate = task.mel.sample_rate
    embeddings = np.stack([task.embed(params, audio.load_audio(u.path, rate), rate)
                           for u in tqdm(utterances, desc="embedding", leave=False)])
    speakers = [u.speaker for u in utterances]
    result = {"split": split, "dataset": dataset, "utterances": len(utterances),
              "speakers": len(set(speakers))}
    scores, same = pair_scores(embeddings, speakers)
    if same.any() and not same.all():
        result.update(eer=equal_error_rate(scores, same), pairs=int(len(same)))
    known = sorted(set(speakers) & set(task.speakers))
    if known:
        classes = np.asarray(params["classes"], np.float64)
        classes /= np.linalg.norm(classes, axis=-1, keepdims=True)
        rows = [i for i, s in enumerate(speakers) if s in known]
        cos = embeddings[rows] @ classes.T
        truth = [speakers[i] for i in rows]
        among = [known[k] for k in np.argmax(cos[:, [task.speaker_id(s) for s in known]], -1)]
        result["identification_among_set"] = float(np.mean([a == t for a, t in zip(among, truth)]))
        result["identification_in_table"] = float(np.mean(
            [task.speakers[k] == t for k, t in zip(np.argmax(cos, -1), truth)]))
    files.write_json(os.path.join(out_dir, f"eval_{dataset}_{split}.json"), {"metrics": result})
    return result
