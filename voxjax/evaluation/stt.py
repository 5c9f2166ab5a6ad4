"""Speech-to-text evaluation (``voxjax eval`` on a recogniser): CER/WER, greedy and beam search +
text prior, on the model's own split or on a named evaluation set, per voice."""
from __future__ import annotations

import os

from voxjax import files, inference, registry
from voxjax.data import manifest, sources


def evaluate_workdir(workdir: str, split: str | None = None, decode: dict | None = None,
                     dataset: str | None = None, root: str | None = None,
                     limit: int | None = None, out_dir: str | None = None) -> dict:
    """CER/WER of a speech-to-text workdir (or published model) on ``split``; writes
    ``eval_<split>.json`` (``eval_<dataset>_<split>.json`` with ``dataset``) to ``out_dir``
    (default: the workdir; ``runs/eval/<name>`` for a published model).

    Greedy CER/WER always; the beam search's (``*_beam``) too unless the settings say greedy.
    ``decode`` overrides ``config.inference`` entries (greedy, beam_size, prior_weight,
    length_bonus) for this call only. ``dataset`` names an evaluation set
    (:data:`voxjax.data.sources.EVALUATION_SETS`; ``root`` its folder, by default the shared
    data's) instead of the config's own data (split default ``all``): e.g. human speech for a
    model trained on the synthetic corpus. A set of several voices (``arctic``) is scored per
    voice, each metric prefixed with the voice (``bdl_cer``). ``limit``: judge only that many
    utterances per voice, spread over the split (:func:`voxjax.data.manifest.spread`: several
    readers, not the first one's files).
    """
    config, task, params = inference.load_workdir(workdir)
    if config.task != "stt":
        raise ValueError(f"{workdir} holds a {config.task!r} model; evaluate it with "
                         f"voxjax.evaluation.tts (voxjax eval does)")
    if root is not None and dataset is None:
        raise ValueError("--root needs --dataset, the evaluation set it holds")
    split = split or ("all" if dataset else "test")
    groups = (sources.evaluation_set(dataset, root, split) if dataset
              else [(None, task.utterances(split))])
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    settings = task.decoding_settings(**(decode or {}))
    prior = None if settings["greedy"] else inference.load_prior(task, workdir)
    result = {"split": split, **({"dataset": dataset} if dataset else {}),
              **({"limit": limit} if limit else {})}
    details: list[dict] = []
    for label, utterances in groups:
        if limit is not None:
            utterances = manifest.spread(utterances, limit)
        metrics = task.evaluate(params, split, settings=settings, details=details,
                                utterances=utterances, prior=prior)
        prefix = f"{label}_" if len(groups) > 1 else ""
        result.update({prefix + k: v for k, v in metrics.items()})
    if not settings["greedy"]:
        result.update({f"decode_{k}": settings[k]
                       for k in ("beam_size", "prior_weight", "length_bonus")})
        result["decode_prior"] = prior is not None
    name = f"eval_{dataset}_{split}.json" if dataset else f"eval_{split}.json"
    out_dir = out_dir or registry.output_dir(workdir)
    files.write_json(os.path.join(out_dir, name), {"metrics": result, "utterances": details},
                     indent=1)
    return result
