"""grain input pipeline: seeded bucketed batch plan -> features in workers -> padded batches.

Design. Training data is a *batch plan*: for every epoch, a seeded shuffle of the utterances of
each length bucket cut into full batches, the batch order shuffled too. The plan is a random-access
source whose item ``i`` is global batch ``i`` of the infinite sequence of epochs, so

* shapes are static: every batch is padded to one of ``config.data.buckets`` frames and
  ``config.data.max_label_length`` labels (one compile per bucket in the train step);
* it is deterministic: epoch ``e`` depends only on ``(config.seed, e)``, so the same seed gives
  the same batches whatever the number of grain workers;
* it is trivially checkpointable: grain's iterator state is just the next batch index.

Batch layout follows ``docs/architecture.md`` (features, feature_lengths, labels, label_lengths,
weights). Audio decoding and log-mel run in the grain map, i.e. in worker processes when
``config.data.num_workers > 0`` (``mp_prefetch``).

Multi-process sharding is by *rows*: every process walks the same global batch sequence (global
batch = ``config.data.batch_size``) and builds rows ``[p * b, (p + 1) * b)`` with
``b = batch_size // process_count``. Taking every P-th batch instead would let processes pick
different buckets for the same step, and the global array of a step needs one shape everywhere.

The iterators returned here are ``grain.DatasetIterator`` objects: ``next(it)``,
``it.get_state()`` / ``it.set_state(state)`` (JSON-serialisable dicts; checkpoint them with
Orbax via ``grain.checkpoint.CheckpointSave(it)`` / ``grain.checkpoint.CheckpointRestore(it)``)
and ``it.close()``, which stops the worker processes; call it when done (the trainer does) and
drop the reference, otherwise grain's own finalisers print noise at interpreter exit. Workers are
*spawned*, so a script that builds an iterator with ``num_workers > 0`` must be import-safe
(``if __name__ == '__main__':``); the ``voxjax`` console entry point is.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import math
import os
import sys
import threading
from typing import Callable, Sequence

import grain
import numpy as np

from voxjax import audio
from voxjax.data import wave_augment
from voxjax.data.manifest import DataError, Utterance
from voxjax.text import CharTokenizer, TextError

log = logging.getLogger(__name__)

# Text -> label ids (raises TextError when nothing is left). STT uses CharTokenizer().encode;
# TTS passes its character or phoneme tokenizer's encode.
Encoder = Callable[[str], Sequence[int]]

# Batches are large (B x T x n_mels floats); grain's default read-ahead of 500 elements on 16
# threads would hold gigabytes, so read ahead a few batches only.
_READ_OPTIONS = grain.ReadOptions(num_threads=2, prefetch_buffer_size=2)


def expected_frames(duration: float, mel_cfg: audio.MelConfig) -> int:
    """Feature frames the pipeline will compute for ``duration`` seconds of audio."""
    return audio.num_frames(int(round(duration * mel_cfg.sample_rate)), mel_cfg)


def bucket_for(frames: int, buckets, labels: int = 0, data=None) -> int | None:
    """Smallest bucket holding ``frames`` frames (and ``labels`` labels, when ``data`` sets
    per-bucket label widths), or None when none does."""
    return next((b for b in sorted(buckets) if frames <= b
                 and (data is None or labels <= label_width_for(b, data))), None)


def label_width_for(bucket: int, data) -> int:
    """Padded label length of a bucket: ``data.max_label_length``, or, when
    ``data.labels_per_frame`` > 0, that many labels per frame (rounded up to 16) capped by it.

    TTS needs this: its token sequences pass through sequential layers (BiLSTM, alignment
    search), so padding 70 phonemes to 256 would cost 3-4x; short buckets get short widths.
    """
    width = int(data.max_label_length)
    ratio = float(data.get("labels_per_frame", 0) or 0)
    return min(width, 16 * math.ceil(bucket * ratio / 16)) if ratio > 0 else width


FEATURE_VERSION = 1  # bump when audio.log_mel changes: old caches are then ignored


def featurize(utterance: Utterance | str | os.PathLike, mel_cfg: audio.MelConfig,
              cache_dir: str | None = None, speed: float = 1.0) -> np.ndarray:
    """Log-mel features ``[frames, n_mels]`` float32 of one file (an Utterance or a path).

    ``speed`` != 1 speed-perturbs the audio first (:func:`wave_augment.speed_perturb`). With
    ``cache_dir`` the features are kept as ``.npy`` files keyed by the file's path, size,
    modification time and speed: a training run featurizes every file once instead of once per
    epoch (on 2 cores the worker's STFTs otherwise compete with the training step).
    """
    path = os.fspath(utterance.path if isinstance(utterance, Utterance) else utterance)
    cached = _cache_file(cache_dir, path, f"speed={speed!r}" if speed != 1.0 else "")
    feats = _load_cached(cached)
    if feats is None:
        feats = audio.log_mel(load_wave(path, mel_cfg.sample_rate, speed), mel_cfg)
        _save_cached(cached, feats)
    return feats


def load_wave(path: str, sample_rate: int, speed: float = 1.0,
              cache_dir: str | None = None) -> np.ndarray:
    """Mono float32 audio at ``sample_rate``, speed-perturbed by ``speed`` (1 = unchanged).

    With ``cache_dir`` the decoded, resampled audio is kept as 16-bit ``.npy`` (augmented
    training re-reads every file each epoch, and decoding Opus costs more than augmenting).
    """
    cached = _cache_file(cache_dir, path, f"wave@{sample_rate}")
    pcm = _load_cached(cached)
    if pcm is not None:
        wave = pcm.astype(np.float32) / 32768  # soundfile's scale: 16-bit files round-trip
    else:
        wave = audio.load_audio(path, sample_rate)
        if cached is not None:
            _save_cached(cached, np.clip(np.round(wave * 32768), -32768, 32767).astype(np.int16))
    return wave if speed == 1.0 else wave_augment.speed_perturb(wave, speed, sample_rate)


def _load_cached(cached: str | None) -> np.ndarray | None:
    if cached is None:
        return None
    try:
        return np.load(cached)
    except (OSError, ValueError):
        return None  # not cached yet (or a torn file from a killed run): compute it again


def _save_cached(cached: str | None, array: np.ndarray) -> None:
    if cached is None:
        return
    try:
        tmp = f"{cached}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, array)
        os.replace(tmp, cached)  # atomic: readers see a whole file or none
    except OSError:
        pass  # read-only or full disk: caching is an optimisation only


def _cache_file(cache_dir: str | None, path: str, variant: str = "") -> str | None:
    """Cache file of ``path`` (keyed by its absolute path, size and mtime) and ``variant``."""
    if not cache_dir:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None  # let load_audio report the missing file
    key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"
    key += f"|{variant}" if variant else ""  # unperturbed features keep their old keys
    return os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest()[:20] + ".npy")


def feature_cache_dir(config) -> str | None:
    """Folder of cached log-mels when ``data.cache_features`` is on and it can be created, else
    None: ``data.cache_dir`` if set, ``<data.root>/.feature_cache`` for the built-in corpus, and
    ``$XDG_CACHE_HOME/voxjax/features`` (default ``~/.cache``) for other datasets, whose folders
    may be shared or read-only. Keys hold absolute paths, so one folder serves many datasets."""
    data = config.data
    if not data.get("cache_features", False):
        return None
    mel = audio.MelConfig.from_config(data)
    name = hashlib.sha1(f"{FEATURE_VERSION}|{mel!r}".encode()).hexdigest()[:12]
    base = data.get("cache_dir", "") or (
        os.path.join(str(data.root), ".feature_cache") if data.dataset == "synth" else
        os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "voxjax",
                     "features"))
    path = os.path.join(base, name)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        log.warning("feature cache disabled: cannot create %s (%s)", path, e)
        return None
    return path


def _tokenize(utterances: list[Utterance], encode: Encoder | None = None
              ) -> list[np.ndarray | None]:
    """Label ids per utterance; None where nothing speakable is left after normalisation."""
    encode, out = encode or CharTokenizer().encode, []
    for u in utterances:
        try:
            out.append(np.asarray(encode(u.text), np.int32))
        except TextError:
            out.append(None)
    return out


@dataclasses.dataclass(frozen=True)
class _BatchItem:
    """One batch to build: item indices (``-1`` = padding row), its padded sizes and its global
    batch number (seeds the waveform augmentation of its rows; -1 in evaluation)."""

    rows: np.ndarray
    frames: int
    label_width: int
    key: int = -1


class _MakeBatch:
    """grain map (runs in the workers): loads, featurizes and pads one planned batch.

    Indexed by training *item*: with speed perturbation every utterance is several items, each
    with its own ``speeds`` entry. With an active ``augment`` (:class:`WaveAugment`) every row's
    audio is augmented with a generator seeded by ``(seed, batch key, row)``, so a batch is the
    same whichever worker builds it and after a resume; such features cannot be cached.

    ``extras`` (``{name: one array per item}``, set by a task after :func:`train_plan`) adds
    each name to every batch: the rows' arrays stacked, zeros for padding rows. The arrays of
    one bucket must share a shape (e.g. features of the item computed at its bucket's length).
    """

    def __init__(self, paths: list[str], labels: list[np.ndarray | None],
                 mel_cfg: audio.MelConfig, with_index: bool = False,
                 speakers: np.ndarray | None = None, cache_dir: str | None = None,
                 speeds: np.ndarray | None = None,
                 augment: wave_augment.WaveAugment | None = None, seed: int = 0):
        self.paths, self.labels, self.mel_cfg = paths, labels, mel_cfg
        self.cache_dir = cache_dir  # see featurize
        self.with_index = with_index  # eval only: train batches keep exactly the contract keys
        self.speakers = speakers  # per-item speaker ids (TTS), or None
        self.speeds = speeds  # per-item speed factor, or None (all 1)
        self.augment = augment if augment is not None and augment.active else None
        self.seed = seed
        self.extras: dict[str, list[np.ndarray]] = {}

    def _features(self, item: _BatchItem) -> dict[int, np.ndarray]:
        """``{row: features}`` for the real rows of a batch."""
        rows = [(row, int(i)) for row, i in enumerate(item.rows) if i >= 0]
        speed = lambda i: 1.0 if self.speeds is None else float(self.speeds[i])  # noqa: E731
        if self.augment is None:
            return {row: featurize(self.paths[i], self.mel_cfg, self.cache_dir, speed(i))
                    for row, i in rows}
        sr = self.mel_cfg.sample_rate
        waves = {row: load_wave(self.paths[i], sr, speed(i), self.cache_dir) for row, i in rows}
        feats = {}
        for row, _ in rows:
            rng = np.random.default_rng([self.seed % 2**63, item.key % 2**63, row])
            others = [w for r, w in waves.items() if r != row]  # babble from the same batch
            feats[row] = audio.log_mel(self.augment(waves[row], rng, others), self.mel_cfg)
        return feats

    def __call__(self, item: _BatchItem) -> dict[str, np.ndarray]:
        size, frames, width = len(item.rows), item.frames, item.label_width
        batch = {"features": np.zeros((size, frames, self.mel_cfg.n_mels), np.float32),
                 "feature_lengths": np.zeros((size,), np.int32),
                 "labels": np.zeros((size, width), np.int32),
                 "label_lengths": np.zeros((size,), np.int32),
                 "weights": np.zeros((size,), np.float32)}
        for row, feats in self._features(item).items():
            index = int(item.rows[row])
            # Resampling may give a frame more than the header duration predicted; that frame is
            # cut rather than letting the batch leave its bucket.
            feats = feats[:frames]
            batch["features"][row, : len(feats)] = feats
            batch["feature_lengths"][row] = len(feats)
            ids = self.labels[index]
            ids = ids[:width] if ids is not None else np.zeros((0,), np.int32)
            batch["labels"][row, : len(ids)] = ids
            batch["label_lengths"][row] = len(ids)
            batch["weights"][row] = 1.0
        if self.speakers is not None:
            batch["speaker"] = np.where(item.rows >= 0, self.speakers[item.rows], 0).astype(np.int32)
        for name, arrays in self.extras.items():
            real = [arrays[int(i)] for i in item.rows if i >= 0]
            batch[name] = np.stack([arrays[int(i)] if i >= 0 else np.zeros_like(real[0])
                                    for i in item.rows])
        if self.with_index:
            batch["index"] = np.asarray(item.rows, np.int32)  # utterance index, -1 = padding
        return batch


# One bucket's share of an epoch: (items, how many of them the epoch draws). A count below the
# pool size draws a fresh random subset each epoch; above it, whole shuffled passes and a subset.
Pool = tuple[np.ndarray, int]


class TrainPlan:
    """Infinite random-access sequence of this process's share of the global training batches.

    Item ``i`` is global batch ``i`` (epoch ``i // batches_per_epoch``), restricted to this
    process's rows. Each epoch draws every bucket's pools (``{bucket: items}`` = each item once
    per epoch, or ``{bucket: [(items, count), ...]}``, e.g. real and synthetic utterances mixed at
    a ratio), shuffles them and the batch order with a generator seeded by ``(seed, epoch)``;
    bucket remainders that do not fill a batch are dropped for that epoch (a different remainder
    each epoch, so nothing is dropped for good).
    """

    def __init__(self, groups: dict[int, np.ndarray | list[Pool]], batch_size: int, seed: int,
                 label_width: int | dict[int, int], process_index: int = 0,
                 process_count: int = 1):
        """``label_width``: padded label length, one for all buckets or one per bucket."""
        self.pools = {b: ([(np.asarray(g, np.int64), len(g))] if not isinstance(g, list)
                          else [(np.asarray(m, np.int64), int(n)) for m, n in g if n > 0])
                      for b, g in sorted(groups.items())}
        self.batch_size, self.seed = batch_size, seed
        self.label_width = (dict(label_width) if isinstance(label_width, dict)
                            else {b: int(label_width) for b in self.pools})
        local = batch_size // process_count
        self.row_slice = slice(process_index * local, (process_index + 1) * local)
        self.batches_per_epoch = sum(sum(n for _, n in pools) // batch_size
                                     for pools in self.pools.values())
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _draw(rng: np.random.Generator, pools: list[Pool]) -> np.ndarray:
        drawn = [np.zeros((0,), np.int64)]
        for members, count in pools:
            passes = [rng.permutation(members) for _ in range(-(-count // max(len(members), 1)))]
            drawn.append(np.concatenate(passes)[:count] if passes else members[:0])
        # One pool (the common case) keeps the draw sequence of a plain shuffle.
        return drawn[-1] if len(drawn) <= 2 else rng.permutation(np.concatenate(drawn))

    def epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """``(buckets [n], rows [n, batch_size])``: the global batches of ``epoch`` in order."""
        with self._lock:
            if epoch in self._cache:
                return self._cache[epoch]
        rng = np.random.default_rng([self.seed % 2**63, epoch])
        rows, buckets = [], []
        for bucket, pools in self.pools.items():  # sorted, so the rng draws are ordered
            members = self._draw(rng, pools)
            full = len(members) // self.batch_size
            rows.append(members[: full * self.batch_size].reshape(full, self.batch_size))
            buckets += [bucket] * full
        order = rng.permutation(self.batches_per_epoch)
        plan = (np.asarray(buckets, np.int64)[order], np.concatenate(rows)[order])
        with self._lock:
            self._cache = {e: p for e, p in self._cache.items() if e == epoch - 1}
            self._cache[epoch] = plan
        return plan

    def __len__(self) -> int:
        return sys.maxsize  # infinite: epochs repeat with fresh shuffles

    def __getitem__(self, index: int) -> _BatchItem:
        epoch, position = divmod(int(index), self.batches_per_epoch)
        buckets, rows = self.epoch(epoch)
        frames = int(buckets[position])
        return _BatchItem(rows=rows[position, self.row_slice], frames=frames,
                          label_width=self.label_width[frames], key=int(index))

    def item_batches(self):
        """Every item once, bucket by bucket, in batches of ``batch_size`` rows (the last of a
        bucket padded with -1 rows): for computing per-item arrays (``_MakeBatch.extras``) with
        the features the training batches will have."""
        for bucket, pools in self.pools.items():
            items = np.unique(np.concatenate([members for members, _ in pools]))
            for start in range(0, len(items), self.batch_size):
                rows = np.full((self.batch_size,), -1, np.int64)
                part = items[start:start + self.batch_size]
                rows[: len(part)] = part
                yield _BatchItem(rows=rows, frames=bucket, label_width=self.label_width[bucket])

    def __getstate__(self):  # the lock and cache stay behind when shipped to a worker
        state = dict(self.__dict__)
        state.pop("_lock"), state.pop("_cache")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state, _cache={}, _lock=threading.Lock())


def iterate(plan: "TrainPlan | list[_BatchItem]", make_batch: _MakeBatch,
            num_workers: int) -> grain.DatasetIterator:
    """The batches of a plan (:func:`train_plan`, :func:`eval_plan`), built in ``num_workers``
    processes when > 0. Close the iterator when done."""
    return _finish(grain.MapDataset.source(plan).map(make_batch), num_workers)


def _finish(dataset: grain.MapDataset, num_workers: int) -> grain.DatasetIterator:
    """MapDataset -> iterator, featurizing in ``num_workers`` processes when > 0."""
    ds = dataset.to_iter_dataset(_READ_OPTIONS)
    if num_workers > 0:
        from absl import flags  # grain's workers read absl flags; a library caller has none
        if not flags.FLAGS.is_parsed():
            flags.FLAGS.mark_as_parsed()
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers,
                                                         per_worker_buffer_size=2))
        # Workers hand batches over in shared memory that is unlinked when the array dies; copy
        # into ordinary arrays so a batch kept by the caller cannot pin (or outlive) the segment.
        ds = ds.map(_own_arrays)
    return iter(ds)


def _own_arrays(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in batch.items()}


def train_plan(config, utterances: list[Utterance], process_index: int = 0,
               process_count: int = 1, encode: Encoder | None = None,
               speakers: np.ndarray | None = None, rates: np.ndarray | None = None
               ) -> tuple[TrainPlan, _MakeBatch]:
    """Filters ``utterances`` for training and builds the batch plan and the batch builder.

    Drops (with one logged count) utterances longer than the largest bucket, with more labels
    than ``max_label_length``, with no speakable text, or too short for a single frame.
    ``encode`` turns text into label ids (default: STT characters); ``speakers`` (one id per
    utterance) adds a ``speaker`` int32 [B] key to every batch; ``rates`` (one per utterance,
    default 1) is how many times an epoch uses it on average (mixing datasets at a ratio).
    ``config.data.augment.speed_factors`` (e.g. ``(0.9, 1.0, 1.1)``) makes every utterance one
    item per factor, as Kaldi's and ESPnet's speed perturbation triple the data; the other
    ``augment`` keys switch on :class:`WaveAugment` for every training row.
    """
    data = config.data
    mel_cfg = audio.MelConfig.from_config(data)
    buckets, batch_size, width = sorted(data.buckets), int(data.batch_size), data.max_label_length
    if not 0 <= process_index < process_count or batch_size % process_count:
        raise ValueError(f"batch_size {batch_size} must split evenly over {process_count} "
                         f"processes (process_index {process_index})")
    augment_cfg = data.get("augment", {})
    speeds = tuple(float(f) for f in augment_cfg.get("speed_factors", ()) or (1.0,))
    if any(not 0.5 <= f <= 2.0 for f in speeds):
        raise ValueError(f"data.augment.speed_factors must lie in [0.5, 2], got {speeds}")
    rates = np.ones(len(utterances)) if rates is None else np.asarray(rates, np.float64)
    labels = _tokenize(utterances, encode)
    # (bucket, rate) -> items; an item is (utterance, speed factor)
    pools: dict[tuple[int, float], list[int]] = collections.defaultdict(list)
    item_utterance, item_speed = [], []
    dropped = {"too long": 0, "label too long": 0, "no text": 0, "too short": 0}
    for i, (u, ids) in enumerate(zip(utterances, labels)):
        for speed in speeds:
            frames = expected_frames(u.duration / speed, mel_cfg)
            bucket = bucket_for(frames, buckets, 0 if ids is None else len(ids), data)
            reason = ("no text" if ids is None else "too short" if frames == 0
                      else "label too long" if len(ids) > width
                      else "too long" if bucket is None else None)
            if reason:
                dropped[reason] += 1
                continue
            pools[bucket, float(rates[i])].append(len(item_utterance))
            item_utterance.append(i)
            item_speed.append(speed)
    if sum(dropped.values()):
        log.warning("training data: dropped %d of %d %s (%s)", sum(dropped.values()),
                    len(utterances) * len(speeds),
                    "utterances" if len(speeds) == 1 else "(utterance, speed) items",
                    ", ".join(f"{n} {r}" for r, n in dropped.items() if n))
    groups = {b: [(np.asarray(items), int(round(rate * len(items))))
                  for (bb, rate), items in sorted(pools.items()) if bb == b] for b in buckets}
    plan = TrainPlan(groups, batch_size, config.seed,
                     {b: label_width_for(b, data) for b in buckets}, process_index,
                     process_count)
    if plan.batches_per_epoch == 0:
        raise DataError(f"no full training batch: {len(item_utterance)} usable items over "
                        f"buckets {tuple(buckets)}, batch_size {batch_size}")
    index = np.asarray(item_utterance, np.int64)
    augment = wave_augment.WaveAugment(augment_cfg, mel_cfg.sample_rate)
    return plan, _MakeBatch([utterances[i].path for i in index], [labels[i] for i in index],
                            mel_cfg, speakers=None if speakers is None else speakers[index],
                            cache_dir=feature_cache_dir(config),
                            speeds=None if speeds == (1.0,) else np.asarray(item_speed),
                            augment=augment, seed=int(config.seed))


def train_iterator(config, utterances: list[Utterance], process_index: int = 0,
                   process_count: int = 1, encode: Encoder | None = None,
                   speakers: np.ndarray | None = None, rates: np.ndarray | None = None
                   ) -> grain.DatasetIterator:
    """Infinite, checkpointable iterator of this process's training batches.

    Each batch has ``config.data.batch_size // process_count`` rows. ``get_state()`` /
    ``set_state()`` round-trip exactly (the next batch after ``set_state`` is the one that
    followed the saved state). Call ``close()`` when done to stop the grain worker processes.
    ``encode``, ``speakers`` and ``rates``: see :func:`train_plan`.
    """
    plan, make_batch = train_plan(config, utterances, process_index, process_count, encode,
                                  speakers, rates)
    return iterate(plan, make_batch, config.data.num_workers)


def eval_plan(config, utterances: list[Utterance], batch_size: int | None = None,
              encode: Encoder | None = None, speakers: np.ndarray | None = None
              ) -> tuple[list[_BatchItem], _MakeBatch]:
    """Eval batches in manifest order; see :func:`eval_batches`."""
    data = config.data
    mel_cfg = audio.MelConfig.from_config(data)
    batch_size = int(batch_size or data.batch_size)
    buckets, width = sorted(data.buckets), data.max_label_length
    labels = _tokenize(utterances, encode)
    if any(ids is None for ids in labels):
        log.warning("eval data: %d utterances have no speakable text (empty labels)",
                    sum(ids is None for ids in labels))
    items = []
    for start in range(0, len(utterances), batch_size):
        rows = np.full((batch_size,), -1, np.int64)
        rows[: min(batch_size, len(utterances) - start)] = np.arange(
            start, min(start + batch_size, len(utterances)))
        chunk = rows[rows >= 0]
        longest = max(expected_frames(utterances[i].duration, mel_cfg) for i in chunk)
        longest_label = max(len(labels[i]) if labels[i] is not None else 0 for i in chunk)
        # Over-long items are kept: round up to a multiple of the largest bucket / label width
        # (a few extra shapes in evaluation beat silently skipping utterances).
        frames = bucket_for(longest, buckets, longest_label, data)
        if frames is not None:
            label_width = label_width_for(frames, data)
        else:
            frames = (bucket_for(longest, buckets)
                      or buckets[-1] * math.ceil(longest / buckets[-1]))
            label_width = width * max(1, math.ceil(longest_label / width))
        items.append(_BatchItem(rows=rows, frames=frames, label_width=label_width))
    paths = [u.path for u in utterances]
    return items, _MakeBatch(paths, labels, mel_cfg, with_index=True, speakers=speakers,
                             cache_dir=feature_cache_dir(config))


def eval_batches(config, utterances: list[Utterance], batch_size: int | None = None,
                 encode: Encoder | None = None, speakers: np.ndarray | None = None
                 ) -> grain.DatasetIterator:
    """One ordered pass over ``utterances``: every utterance exactly once, nothing dropped.

    Batches hold ``batch_size`` (default ``config.data.batch_size``) rows in manifest order; the
    last one is padded with all-zero, weight-0 rows. Besides the contract's keys, eval batches
    carry ``index`` int32 [B]: each row's position in ``utterances`` (-1 for padding). Each
    batch is padded to the smallest bucket that fits it; items longer than every bucket get a
    multiple of the largest bucket, labels longer than ``max_label_length`` a multiple of it.
    ``encode`` and ``speakers``: see :func:`train_plan`. Close the iterator when stopping early.
    """
    if not utterances:
        raise DataError("no utterances to evaluate")
    items, make_batch = eval_plan(config, utterances, batch_size, encode, speakers)
    return iterate(items, make_batch, config.data.num_workers)
