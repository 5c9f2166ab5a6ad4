"""Fixed-size (log-mel, waveform) crops for training and evaluating waveform decoders.

A batch (numpy, host side)::

    mel      float32 [B, S, n_mels]   frames a .. a+S-1 of the utterance's log-mel
    wave     float32 [B, S * hop]     the target the decoder's output is compared with
    weights  float32 [B]              1 real row, 0 padding row (eval batches only pad)
    index    int32   [B]              eval only: row's position in the utterance list, -1 = pad

The log-mel is computed on the whole utterance (``voxjax.audio.log_mel``) and then cropped, so
each frame keeps its real left context, exactly as at inference. Under the decoder convention
(``voxjax.models.conv_decoder``) output sample ``i`` models input sample ``i - latency``, so the
target of crop ``a`` is ``wave[j] = audio[a * hop - latency + j]`` (zeros before the start).
Utterances shorter than ``S`` frames are padded with silence before the features are computed.

Training uses the bucketed batch plan of ``voxjax.data.pipeline`` with one bucket: item ``i`` is
global batch ``i`` (seeded shuffle per epoch, every utterance once per epoch), and crop offsets
are drawn from ``np.random.default_rng([seed, i, global row])``, so the batches depend only on
the seed and the batch index: the same whatever the worker count, and a resumed iterator
(``get_state``/``set_state``) sees the same crops. Evaluation takes the centre crop of
``eval_segment_frames`` frames of every utterance, in manifest order.
"""
from __future__ import annotations

import dataclasses

import grain
import numpy as np

from voxjax import audio
from voxjax.data import pipeline
from voxjax.data.manifest import DataError, Utterance


@dataclasses.dataclass(frozen=True)
class _EvalItem:
    rows: np.ndarray  # utterance indices, -1 = padding row


class _MakeSegments:
    """grain map (runs in the workers): loads, featurizes and crops one batch of utterances."""

    def __init__(self, paths: list[str], mel_cfg: audio.MelConfig, frames: int, latency: int,
                 seed: int | None, row_offset: int = 0):
        self.paths, self.mel_cfg, self.frames, self.latency = paths, mel_cfg, frames, latency
        self.seed = seed  # None: deterministic centre crops (evaluation)
        self.row_offset = row_offset  # global row of this process's first row

    def crop(self, path: str, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """``(mel [S, n_mels], wave [S * hop])`` of one utterance (random or centre crop)."""
        hop, s = self.mel_cfg.hop_length, self.frames
        wave = audio.load_audio(path, self.mel_cfg.sample_rate)
        if len(wave) < s * hop:  # too short: pad with silence so one whole crop exists
            wave = np.pad(wave, (0, s * hop - len(wave)))
        mel = audio.log_mel(wave, self.mel_cfg)
        spare = len(mel) - s
        start = int(rng.integers(0, spare + 1)) if rng is not None else spare // 2
        delayed = np.concatenate([np.zeros(self.latency, np.float32), wave])
        return mel[start:start + s], delayed[start * hop:(start + s) * hop]

    def __call__(self, index: int, item) -> dict[str, np.ndarray]:
        rows = np.asarray(item.rows)
        size, hop = len(rows), self.mel_cfg.hop_length
        batch = {"mel": np.zeros((size, self.frames, self.mel_cfg.n_mels), np.float32),
                 "wave": np.zeros((size, self.frames * hop), np.float32),
                 "weights": np.zeros((size,), np.float32)}
        for row, utt in enumerate(rows):
            if utt < 0:
                continue  # padding row: zeros, weight 0
            rng = (None if self.seed is None else
                   np.random.default_rng([self.seed % 2**63, int(index), self.row_offset + row]))
            batch["mel"][row], batch["wave"][row] = self.crop(self.paths[utt], rng)
            batch["weights"][row] = 1.0
        if self.seed is None:
            batch["index"] = rows.astype(np.int32)
        return batch


def train_iterator(config, utterances: list[Utterance], latency_samples: int,
                   process_index: int = 0, process_count: int = 1) -> grain.DatasetIterator:
    """Infinite, checkpointable iterator of this process's random crops.

    ``config.data``: mel settings, ``segment_frames`` (S), ``batch_size`` (global),
    ``num_workers``; ``config.seed``. ``latency_samples`` is the decoder's output delay.
    Each batch has ``batch_size // process_count`` rows; close the iterator when done.
    """
    data = config.data
    mel_cfg = audio.MelConfig.from_config(data)
    frames, batch_size = int(data.segment_frames), int(data.batch_size)
    if not 0 <= process_index < process_count or batch_size % process_count:
        raise ValueError(f"batch_size {batch_size} must split evenly over {process_count} "
                         f"processes (process_index {process_index})")
    usable = [i for i, u in enumerate(utterances)
              if pipeline.expected_frames(u.duration, mel_cfg) > 0]
    # One bucket (key = crop length): the plan only supplies the seeded per-epoch shuffle.
    plan = pipeline.TrainPlan({frames: np.asarray(usable, np.int64)}, batch_size, config.seed,
                              label_width=0, process_index=process_index,
                              process_count=process_count)
    if plan.batches_per_epoch == 0:
        raise DataError(f"no full training batch: {len(usable)} usable utterances, "
                        f"batch_size {batch_size}")
    make = _MakeSegments([u.path for u in utterances], mel_cfg, frames, int(latency_samples),
                         seed=int(config.seed), row_offset=plan.row_slice.start)
    # map_with_index hands the global batch index to the crop rng.
    dataset = grain.MapDataset.source(plan).map_with_index(make)
    return pipeline._finish(dataset, int(data.num_workers))


def eval_iterator(config, utterances: list[Utterance], latency_samples: int,
                  batch_size: int | None = None, num_workers: int = 0) -> grain.DatasetIterator:
    """One ordered pass: the centre ``config.data.eval_segment_frames`` frames of every utterance.

    Batches of ``batch_size`` (default ``config.data.batch_size``) rows; the last is padded with
    weight-0 rows. One crop length means one compiled shape. In-process by default: a few
    batches do not pay for starting worker processes. Close the iterator when stopping early.
    """
    if not utterances:
        raise DataError("no utterances to evaluate")
    data = config.data
    mel_cfg = audio.MelConfig.from_config(data)
    batch_size = int(batch_size or data.batch_size)
    items = []
    for start in range(0, len(utterances), batch_size):
        rows = np.full((batch_size,), -1, np.int64)
        stop = min(start + batch_size, len(utterances))
        rows[: stop - start] = np.arange(start, stop)
        items.append(_EvalItem(rows))
    make = _MakeSegments([u.path for u in utterances], mel_cfg, int(data.eval_segment_frames),
                         int(latency_samples), seed=None)
    return pipeline._finish(grain.MapDataset.source(items).map_with_index(make), num_workers)
