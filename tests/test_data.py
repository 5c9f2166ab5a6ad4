"""Tests for voxjax.data: manifests of every layout, the grain pipeline and SpecAugment."""
import collections
import json
import logging
import os

import jax
import numpy as np
import pytest
import soundfile as sf

from configs.stt_synth import get_config
from voxjax import audio
from voxjax.data import augment, manifest, pipeline
from voxjax.data.manifest import DataError, load_manifest
from voxjax.text import CharTokenizer, normalize

SR = 16000
SHARED = "/work/shared/data"
TOK = CharTokenizer()


def _tone(path, seconds, freq=220.0, sr=SR):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(int(round(seconds * sr))) / sr
    opus = {"format": "OGG", "subtype": "OPUS"} if path.endswith(".opus") else {}
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32), sr, **opus)


def _config(**data):
    config = get_config("tiny")
    config.data.buckets = (60, 100, 130)
    config.data.batch_size = 4
    config.data.max_label_length = 40
    config.data.num_workers = 0
    config.data.n_mels = 16
    config.data.update(data)
    return config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """26 normal utterances (30..125 frames, unique texts) + one too long + one over-long label."""
    root = tmp_path_factory.mktemp("synth")
    lines = []
    for i in range(26):
        seconds = 0.30 + i * 0.038
        _tone(str(root / "wavs" / f"u{i}.wav"), seconds, 150 + 20 * i)
        lines.append({"path": f"wavs/u{i}.wav", "text": f"Sample {i}.", "speaker": "s",
                      "duration": seconds, "split": "train"})
    _tone(str(root / "wavs" / "long.wav"), 1.5)
    lines.append({"path": "wavs/long.wav", "text": "too long audio", "duration": 1.5,
                  "split": "train"})
    _tone(str(root / "wavs" / "chatty.wav"), 0.5)
    lines.append({"path": "wavs/chatty.wav", "text": "a transcript far longer than forty "
                  "characters allowed", "split": "train"})  # duration read from the header
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return load_manifest("synth", root, "train")


def _texts(batch):
    return [TOK.decode(row[:n]) for row, n, w in
            zip(batch["labels"], batch["label_lengths"], batch["weights"]) if w > 0]


def _take(it, n):
    return [next(it) for _ in range(n)]


# ----------------------------------------------------------------------------- manifests

def test_jsonl_manifest(tmp_path, corpus):
    assert len(corpus) == 28 and all(os.path.isabs(u.path) for u in corpus)
    chatty = next(u for u in corpus if u.path.endswith("chatty.wav"))
    assert chatty.duration == pytest.approx(0.5)  # from the file header
    # A .jsonl path, an absolute audio path and a missing split (defaults to train).
    _tone(str(tmp_path / "a.wav"), 0.2)
    other = tmp_path / "m.jsonl"
    other.write_text(json.dumps({"path": str(tmp_path / "a.wav"), "text": "hi"}) + "\n"
                     + json.dumps({"path": "a.wav", "text": "yo", "split": "test"}) + "\n")
    assert [u.text for u in load_manifest("manifest", other, "train")] == ["hi"]
    assert [u.split for u in load_manifest("manifest", other, "all")] == ["train", "test"]


def test_ljspeech_layout(tmp_path):
    ids = [f"LJ001-{i:04d}" for i in range(40)]
    for uid in ids:
        _tone(str(tmp_path / "wavs" / f"{uid}.wav"), 0.1)
    rows = [f"{uid}|Text {i}|Text number {i}" if i % 2 else f"{uid}|Plain {i}"
            for i, uid in enumerate(ids)]
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    everything = load_manifest("ljspeech", tmp_path, "all")
    assert len(everything) == 40 and {u.speaker for u in everything} == {tmp_path.name}
    assert everything[1].text == "Text number 1" and everything[0].text == "Plain 0"
    assert everything[0].duration == pytest.approx(0.1)
    by_split = collections.Counter(u.split for u in everything)
    assert sum(len(load_manifest("ljspeech", tmp_path, s)) for s in by_split) == 40
    # The hash split is deterministic and close to 90/5/5 on many ids.
    counts = collections.Counter(manifest.ljspeech_split(f"LJ{i:06d}") for i in range(4000))
    assert 0.87 < counts["train"] / 4000 < 0.93 and 0.03 < counts["test"] / 4000 < 0.07
    assert [manifest.ljspeech_split(u) for u in ids] == [u.split for u in everything]


def test_librispeech_layout(tmp_path):
    for subset, speaker, chapter in [("train-clean-100", "19", "198"), ("dev-clean", "84", "121"),
                                     ("test-clean", "61", "70")]:
        folder = tmp_path / subset / speaker / chapter
        uids = [f"{speaker}-{chapter}-{k:04d}" for k in range(2)]
        for uid in uids:
            _tone(str(folder / f"{uid}.flac"), 0.25)
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(
            "".join(f"{uid} HELLO WORLD {k}\n" for k, uid in enumerate(uids)))
    train = load_manifest("librispeech", tmp_path, "train-clean-100")
    assert len(train) == 2 and train[0].speaker == "19" and train[0].path.endswith(".flac")
    assert train[1].text == "HELLO WORLD 1" and train[0].duration == pytest.approx(0.25)
    assert {u.split for u in load_manifest("librispeech", tmp_path, "valid")} == {"dev-clean"}
    assert len(load_manifest("librispeech", tmp_path, "all")) == 6
    one = load_manifest("librispeech", tmp_path / "test-clean", "all")  # root = one subset
    assert len(one) == 2 and {u.split for u in one} == {"test-clean"}


def test_fsdd_layouts(tmp_path):
    bare = tmp_path / "bare"
    for digit, index in [(3, 0), (3, 4), (7, 5), (7, 40)]:
        _tone(str(bare / "recordings" / f"{digit}_jackson_{index}.wav"), 0.2, sr=8000)
    test = load_manifest("fsdd", bare, "test")
    assert [u.text for u in test] == ["three", "three"] and test[0].speaker == "jackson"
    assert [u.text for u in load_manifest("fsdd", bare, "train")] == ["seven", "seven"]
    meta = tmp_path / "meta"
    _tone(str(meta / "recordings" / "1_x_9.wav"), 0.3, sr=8000)
    (meta / "metadata.csv").write_text("file|digit|text|speaker|index|split\n"
                                       "recordings/1_x_9.wav|1|one|x|9|valid\n")
    (u,) = load_manifest("fsdd", meta, "valid")
    assert (u.text, u.speaker, u.split) == ("one", "x", "valid")
    assert u.duration == pytest.approx(0.3)


@pytest.mark.parametrize("dataset,folder,split", [("fsdd", "fsdd", "test"),
                                                   ("ljspeech", "ljspeech32", "all")])
def test_shared_datasets(dataset, folder, split):
    root = os.path.join(SHARED, folder)
    if not os.path.isdir(root):
        pytest.skip(f"{root} not present on this machine")
    utterances = load_manifest(dataset, root, split)
    assert utterances and all(os.path.isfile(u.path) and u.duration > 0 for u in utterances[:50])
    if dataset == "fsdd":
        assert {u.text for u in utterances} == set(manifest._DIGITS)


def test_data_errors(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'timit'"):
        load_manifest("timit", tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_manifest("ljspeech", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    for dataset in ("fsdd", "librispeech"):
        with pytest.raises(DataError, match="no .* utterances found"):
            load_manifest(dataset, tmp_path / "empty")
    with pytest.raises(DataError, match="no metadata.csv"):
        load_manifest("ljspeech", tmp_path / "empty")
    with pytest.raises(DataError, match="no manifest.jsonl"):
        load_manifest("synth", tmp_path / "empty")
    _tone(str(tmp_path / "a.wav"), 0.1)
    (tmp_path / "manifest.jsonl").write_text(
        json.dumps({"path": "a.wav", "text": "x", "split": "train"}) + "\n"
        + json.dumps({"path": "a.wav", "text": "y", "split": "test"}) + "\n")
    with pytest.raises(DataError, match="split 'valid'.*splits found: test, train"):
        load_manifest("synth", tmp_path, "valid")
    # Nothing usable left: the error says why every entry was skipped.
    (tmp_path / "manifest.jsonl").write_text('{"path": "gone.wav", "text": "x"}\n')
    with pytest.raises(DataError, match="no synth utterances .*1 missing audio, e.g. .*gone.wav"):
        load_manifest("synth", tmp_path)
    (tmp_path / "manifest.jsonl").write_text('{"text": "x"}\n')
    with pytest.raises(DataError, match=r"1 malformed lines.*manifest.jsonl:1"):
        load_manifest("synth", tmp_path)


def test_damaged_entries_are_counted_warned_once_and_skipped(tmp_path, caplog):
    """Missing, unreadable or empty audio and empty or malformed lines never stop a load."""
    folder = tmp_path / "train" / "19" / "198"
    for k in range(3):
        _tone(str(folder / f"19-198-{k:04d}.opus"), 0.3)
    (folder / "19-198-0003.flac").write_bytes(b"not audio at all")
    (folder / "19-198.trans.txt").write_text(
        "19-198-0000 HELLO\n\n19-198-0001 WORLD\n19-198-0002\n19-198-0003 CORRUPT\n"
        "19-198-0004 MISSING\n")
    with caplog.at_level(logging.WARNING, logger="voxjax.data.manifest"):
        utterances = load_manifest("librispeech", tmp_path, "train")
    assert [u.text for u in utterances] == ["HELLO", "WORLD"]
    assert all(u.path.endswith(".opus") and u.duration == pytest.approx(0.3, abs=0.01)
               for u in utterances)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "skipped 3 entries" in warning
    assert "1 malformed lines" in warning and "19-198.trans.txt:4" in warning
    assert "1 missing audio" in warning and "19-198-0004" in warning
    assert "1 unreadable audio" in warning and "19-198-0003.flac" in warning


def test_audio_of_any_soundfile_format_is_found_by_id(tmp_path):
    for uid, ext in [("LJ001-0001", "wav"), ("LJ001-0002", "flac"), ("LJ001-0003", "ogg")]:
        _tone(str(tmp_path / "wavs" / f"{uid}.{ext}"), 0.2)
    (tmp_path / "wavs" / "LJ001-0001.txt").write_text("notes")  # not audio: ignored
    (tmp_path / "metadata.csv").write_text("LJ001-0001|a\nLJ001-0002|b\nLJ001-0003|c\n")
    paths = [u.path for u in load_manifest("ljspeech", tmp_path)]
    assert [os.path.basename(p) for p in paths] == ["LJ001-0001.wav", "LJ001-0002.flac",
                                                    "LJ001-0003.ogg"]


def test_takes_of_one_prompt_share_a_split_and_heldout_counts_are_exact(tmp_path):
    """Kathleen-style ids (prompt + take) are split by prompt, never by take."""
    rows = []
    for p in range(40):
        for take in range(1 + p % 2):  # every other prompt has two takes
            uid = f"arctic_a{p:04d}_{1592748000 + 10 * p + take}"
            _tone(str(tmp_path / "wavs" / f"{uid}.opus"), 0.1)
            rows.append(f"{uid}|Prompt number {p}.")
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    for held in (0, 5):
        utterances = load_manifest("ljspeech", tmp_path, "all", heldout_prompts=held)
        split_of = collections.defaultdict(set)
        for u in utterances:
            split_of[manifest.prompt_of(os.path.basename(u.path)[:-5])].add(u.split)
        assert len(split_of) == 40 and all(len(s) == 1 for s in split_of.values())
        if held:
            counts = collections.Counter(next(iter(s)) for s in split_of.values())
            assert counts == {"test": 5, "valid": 5, "train": 30}
    assert manifest.prompt_of("arctic_a0001_1592748574") == "arctic_a0001"
    assert manifest.prompt_of("LJ001-0001") == "LJ001-0001"
    with pytest.raises(DataError, match="cannot hold out 20 test and 20 valid prompts from 40"):
        load_manifest("ljspeech", tmp_path, heldout_prompts=20)


# ----------------------------------------------------------------------------- training batches

def test_train_batches_follow_the_contract(corpus, caplog):
    config = _config()
    mel = audio.MelConfig.from_config(config.data)
    by_text = {normalize(u.text): u for u in corpus}
    with caplog.at_level(logging.WARNING, logger="voxjax.data.pipeline"):
        it = pipeline.train_iterator(config, corpus)
    drops = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert drops == ["training data: dropped 2 of 28 utterances (1 too long, 1 label too long)"]
    batches = _take(it, 12)
    it.close()
    shapes = set()
    for batch in batches:
        assert {k: v.dtype for k, v in batch.items()} == {
            "features": np.float32, "feature_lengths": np.int32, "labels": np.int32,
            "label_lengths": np.int32, "weights": np.float32}
        size, frames, bins = batch["features"].shape
        shapes.add(frames)
        assert (size, bins) == (4, 16) and batch["labels"].shape == (4, 40)
        assert np.all(batch["weights"] == 1)  # training batches are always full
        # Padded to the smallest bucket that fits every row.
        assert frames == pipeline.bucket_for(batch["feature_lengths"].max(), config.data.buckets)
        for row, text in enumerate(_texts(batch)):
            utt = by_text[text]  # labels decode back to the normalised transcript
            n = batch["feature_lengths"][row]
            assert n == pipeline.expected_frames(utt.duration, mel)
            assert np.all(batch["features"][row, n:] == 0)
            assert np.all(batch["labels"][row, batch["label_lengths"][row]:] == 0)
    seen = {t for batch in batches for t in _texts(batch)}
    assert "too long audio" not in seen and not any(t.startswith("a transcript") for t in seen)
    np.testing.assert_allclose(batches[0]["features"][0, : batches[0]["feature_lengths"][0]],
                               pipeline.featurize(by_text[_texts(batches[0])[0]], mel))
    assert shapes <= set(config.data.buckets) and len(shapes) > 1


def test_epoch_uses_each_utterance_once_and_reshuffles(corpus):
    config = _config()
    plan, _ = pipeline.train_plan(config, corpus)
    per_epoch = plan.batches_per_epoch
    it = pipeline.train_iterator(config, corpus)
    epochs = [[_texts(b) for b in _take(it, per_epoch)] for _ in range(2)]
    it.close()
    for epoch in epochs:
        flat = [t for batch in epoch for t in batch]
        assert len(flat) == len(set(flat)) == per_epoch * 4
    assert epochs[0] != epochs[1]


def test_state_round_trip_continues_identically(corpus):
    config = _config()
    it = pipeline.train_iterator(config, corpus)
    _take(it, 3)
    state = json.loads(json.dumps(it.get_state()))  # must survive a JSON checkpoint
    expected = _take(it, 6)  # crosses into the next epoch
    it.close()
    fresh = pipeline.train_iterator(config, corpus)
    fresh.set_state(state)
    for want, got in zip(expected, _take(fresh, 6)):
        for key in want:
            np.testing.assert_array_equal(want[key], got[key])
    fresh.close()


def test_seed_controls_order(corpus):
    def order(seed):
        config = _config()
        config.seed = seed
        it = pipeline.train_iterator(config, corpus)
        texts = [_texts(b) for b in _take(it, 5)]
        it.close()
        return texts

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_process_shards_are_disjoint_and_cover_the_epoch(corpus):
    config = _config()
    plan, _ = pipeline.train_plan(config, corpus)
    n = plan.batches_per_epoch
    whole = pipeline.train_iterator(config, corpus)
    shards = [pipeline.train_iterator(config, corpus, p, 2) for p in range(2)]
    for _ in range(n):
        batch = next(whole)
        parts = [next(s) for s in shards]
        assert [p["features"].shape[0] for p in parts] == [2, 2]
        # Same step, same bucket on every process: the global array needs one shape.
        assert {p["features"].shape for p in parts} == {(2,) + batch["features"].shape[1:]}
        a, b = _texts(parts[0]), _texts(parts[1])
        assert not set(a) & set(b) and sorted(a + b) == sorted(_texts(batch))
    for it in [whole, *shards]:
        it.close()
    with pytest.raises(ValueError, match="split evenly"):
        pipeline.train_iterator(config, corpus, 0, 3)


def _epoch_items(plan, make_batch, epoch=0):
    """(utterance path, speed) of every row the plan draws in one epoch."""
    _, rows = plan.epoch(epoch)
    speeds = make_batch.speeds if make_batch.speeds is not None else np.ones(len(make_batch.paths))
    return [(make_batch.paths[i], float(speeds[i])) for i in rows.ravel()]


def test_speed_perturbation_makes_one_item_per_factor(corpus):
    plain_plan, _ = pipeline.train_plan(_config(), corpus)
    config = _config()
    config.data.buckets = (60, 100, 130, 150)  # room for the 0.9x stretch of the longest
    config.data.augment.speed_factors = (0.9, 1.0, 1.1)
    plan, make_batch = pipeline.train_plan(config, corpus)
    items = _epoch_items(plan, make_batch)
    assert len(items) == len(set(items)) > 2.5 * plain_plan.batches_per_epoch * 4
    assert {s for _, s in items} == {0.9, 1.0, 1.1}
    # Features really are stretched or squeezed: frames follow duration / speed.
    durations = {u.path: u.duration for u in corpus}
    mel = audio.MelConfig.from_config(config.data)
    for position in range(3):
        item = plan[position]
        batch = make_batch(item)
        for row, index in enumerate(item.rows):
            path, speed = make_batch.paths[index], make_batch.speeds[index]
            expected = pipeline.expected_frames(durations[path] / speed, mel)
            assert abs(int(batch["feature_lengths"][row]) - expected) <= 1
    with pytest.raises(ValueError, match="speed_factors must lie in"):
        config.data.augment.speed_factors = (0.1,)
        pipeline.train_plan(config, corpus)


def test_mixing_rates_set_each_source_share_of_an_epoch(corpus):
    config = _config()
    usable = corpus[:26]  # both fit the buckets and labels
    rates = np.where(np.arange(26) < 13, 1.0, 0.5)
    plan, make_batch = pipeline.train_plan(config, usable, rates=rates)
    first = {u.path for u in usable[:13]}
    shares = []
    for epoch in range(2):
        items = [p for p, _ in _epoch_items(plan, make_batch, epoch)]
        assert len(items) == len(set(items))  # a subset, no repeats, when the rate is below 1
        shares.append(sum(p in first for p in items) / len(items))
        # The half-rate source contributes about half its utterances per epoch.
        assert 4 <= sum(p not in first for p in items) <= 8
    assert all(0.55 < share < 0.8 for share in shares)
    twice = pipeline.train_plan(config, usable, rates=np.full(26, 2.0))[0]
    assert twice.batches_per_epoch >= 2 * plan.batches_per_epoch - 3


def test_waveform_augmentation_is_seeded_by_batch_and_row(corpus):
    config = _config()
    config.data.augment.noise_prob = 1.0
    plan, make_batch = pipeline.train_plan(config, corpus)
    clean_plan, clean = pipeline.train_plan(_config(), corpus)
    first, again, second = make_batch(plan[0]), make_batch(plan[0]), make_batch(plan[1])
    np.testing.assert_array_equal(first["features"], again["features"])
    reference = clean(clean_plan[0])
    np.testing.assert_array_equal(first["feature_lengths"], reference["feature_lengths"])
    assert np.abs(first["features"] - reference["features"]).mean() > 0.1  # noise was added
    config.seed += 1
    other_seed = pipeline.train_plan(config, corpus)[1]
    assert not np.array_equal(make_batch(plan[0])["features"],
                              other_seed(plan[0])["features"])
    assert second["features"].shape[0] == first["features"].shape[0]


def test_too_few_utterances_for_a_batch(corpus):
    with pytest.raises(DataError, match="no full training batch"):
        pipeline.train_iterator(_config(batch_size=16), corpus)


# ----------------------------------------------------------------------------- evaluation

def test_eval_covers_every_utterance_once(corpus):
    config = _config()
    batches = list(pipeline.eval_batches(config, corpus, batch_size=5))
    assert len(batches) == 6  # 28 utterances: 5 full batches + 3 real rows
    seen = [t for b in batches for t in _texts(b)]
    assert seen == [normalize(u.text) for u in corpus]  # in order, each once, nothing dropped
    assert [i for b in batches for i in b["index"] if i >= 0] == list(range(len(corpus)))
    last = batches[-1]
    assert last["weights"].tolist() == [1, 1, 1, 0, 0] and last["index"].tolist()[3:] == [-1, -1]
    assert np.all(last["features"][3:] == 0) and np.all(last["feature_lengths"][3:] == 0)
    frames = {b["features"].shape[1] for b in batches}
    assert 260 in frames  # the 150-frame item: rounded up to a multiple of the largest bucket
    assert frames <= {60, 100, 130, 260}
    assert {b["labels"].shape[1] for b in batches} == {40, 80}  # the long transcript is kept


# ----------------------------------------------------------------------------- SpecAugment

def test_spec_augment_masks_inside_valid_frames_only():
    rng = jax.random.PRNGKey(0)
    lengths = np.array([50, 20, 80], np.int32)
    feats = np.random.default_rng(0).normal(size=(3, 80, 16)).astype(np.float32) + 3.0
    feats[np.arange(80)[None, :] >= lengths[:, None]] = 0.0
    kwargs = dict(freq_masks=2, freq_width=4, time_masks=2, time_width=10)
    out = np.asarray(jax.jit(lambda r, f, n: augment.spec_augment(r, f, n, **kwargs))(
        rng, feats, lengths))
    changed = out != feats
    assert changed.any()
    for i, n in enumerate(lengths):
        assert not changed[i, n:].any()  # padding untouched
        fill = feats[i, :n].mean()
        np.testing.assert_allclose(out[i][changed[i]], fill, rtol=1e-5)
        assert changed[i, :n].mean() < 0.8  # leaves most of the utterance
    again = np.asarray(augment.spec_augment(rng, feats, lengths, **kwargs))
    np.testing.assert_allclose(again, out, rtol=1e-6)  # deterministic per rng
    other = np.asarray(augment.spec_augment(jax.random.PRNGKey(1), feats, lengths, **kwargs))
    assert not np.array_equal(other, out)
    none = augment.spec_augment(rng, feats, lengths, freq_masks=0, freq_width=4,
                                time_masks=0, time_width=10)
    np.testing.assert_array_equal(np.asarray(none), feats)


def test_frequency_warp_moves_each_utterances_formants_by_one_bounded_factor():
    """A spectral peak at bin 40 of every frame lands at 40 * a for the utterance's own factor
    a in [1 / 1.2, 1.2]: the same bin in all its frames, up for some utterances and down for
    others; flat (padding) frames stay flat; max_warp 0 changes nothing."""
    feats = np.full((16, 6, 80), -10.0, np.float32)
    feats[:, :4, 40] = 0.0  # frames 4-5: flat, like padding
    out = np.asarray(jax.jit(lambda r, f: augment.warp_frequencies(r, f, 0.2))(
        jax.random.PRNGKey(0), feats))
    peaks = out[:, :4].argmax(-1)  # [utterance, frame]
    assert (peaks == peaks[:, :1]).all()  # one factor per utterance
    assert peaks.min() >= np.floor(40 / 1.2) and peaks.max() <= np.ceil(40 * 1.2)
    assert (peaks[:, 0] > 40).any() and (peaks[:, 0] < 40).any()
    np.testing.assert_allclose(out[:, 4:], -10.0)
    same = augment.warp_frequencies(jax.random.PRNGKey(0), feats, 0.0)
    np.testing.assert_allclose(np.asarray(same), feats, atol=1e-6)


def test_random_crop_takes_one_window_inside_each_utterances_valid_frames():
    """Every frame holds its own index, so a window shows where it started: inside the valid
    frames for long rows (anywhere there, by the spread of starts), at 0 for rows shorter than the
    window, which keep all their frames; a bucket shorter than the window is padded."""
    lengths = np.array([300, 250, 120, 80] * 8, np.int32)
    feats = np.broadcast_to(np.arange(300, dtype=np.float32)[None, :, None], (32, 300, 4))
    crop = jax.jit(augment.random_crop, static_argnums=3)
    out, out_lengths = (np.asarray(x) for x in crop(jax.random.PRNGKey(0), feats, lengths, 100))
    assert out.shape == (32, 100, 4)
    np.testing.assert_array_equal(out_lengths, np.minimum(lengths, 100))
    starts = out[:, 0, 0].astype(int)
    np.testing.assert_array_equal(out[..., 0], starts[:, None] + np.arange(100))
    assert (starts + 100 <= np.maximum(lengths, 100)).all()
    assert (starts[lengths <= 100] == 0).all()
    assert len(set(starts[lengths == 300])) > 4 and starts[lengths == 300].max() > 100
    other, _ = crop(jax.random.PRNGKey(1), feats, lengths, 100)
    assert not np.array_equal(np.asarray(other), out)
    short, short_lengths = crop(jax.random.PRNGKey(0), feats[:, :80], np.full(32, 80), 100)
    assert short.shape == (32, 100, 4) and (np.asarray(short_lengths) == 80).all()
    np.testing.assert_array_equal(np.asarray(short)[:, :80, 0], np.arange(80)[None].repeat(32, 0))


# ----------------------------------------------------------------------------- workers

def test_worker_processes_give_the_same_batches(corpus):
    inline = pipeline.train_iterator(_config(), corpus)
    want = _take(inline, 4)
    inline.close()
    workers = pipeline.train_iterator(_config(num_workers=1), corpus)
    try:
        got = _take(workers, 2)
        state = json.loads(json.dumps(workers.get_state()))
        got += _take(workers, 2)
        workers.set_state(state)
        got += _take(workers, 2)
    finally:
        workers.close()
    for w, g in zip(want + want[2:], got):
        for key in w:
            np.testing.assert_array_equal(w[key], g[key])


def test_orbax_checkpoints_the_iterator(corpus, tmp_path):
    import grain
    import orbax.checkpoint as ocp

    config = _config()
    it = pipeline.train_iterator(config, corpus)
    _take(it, 2)
    with ocp.CheckpointManager(tmp_path / "ckpt") as mgr:
        mgr.save(2, args=ocp.args.Composite(data=grain.checkpoint.CheckpointSave(it)))
        mgr.wait_until_finished()
        want = _take(it, 3)
        it.close()
        fresh = pipeline.train_iterator(config, corpus)
        mgr.restore(2, args=ocp.args.Composite(data=grain.checkpoint.CheckpointRestore(fresh)))
    got = _take(fresh, 3)
    fresh.close()
    assert [_texts(b) for b in got] == [_texts(b) for b in want]


def test_feature_cache_returns_the_same_features_and_notices_changed_files(tmp_path, monkeypatch):
    wav = str(tmp_path / "a.wav")
    _tone(wav, 0.5)
    config = _config(root=str(tmp_path), cache_features=True)
    cache = pipeline.feature_cache_dir(config)
    assert cache and cache.startswith(str(tmp_path))
    mel = audio.MelConfig.from_config(config.data)
    first = pipeline.featurize(wav, mel, cache)
    assert len(os.listdir(cache)) == 1
    calls = []
    monkeypatch.setattr(audio, "log_mel", lambda *a: calls.append(a) or np.zeros((1, 16)))
    np.testing.assert_array_equal(pipeline.featurize(wav, mel, cache), first)  # from the cache
    assert not calls
    _tone(wav, 0.7)  # a rewritten file has a new size and mtime: recomputed, not stale
    pipeline.featurize(wav, mel, cache)
    assert len(calls) == 1
    assert pipeline.feature_cache_dir(_config(root=str(tmp_path), cache_features=False)) is None


def test_every_task_reads_its_splits_through_one_cached_implementation(monkeypatch):
    import gc
    import weakref

    from voxjax.data import sources, splits
    from voxjax.tasks import decoder, stt, tts
    for cls in (stt.SpeechToText, tts.TextToSpeech, decoder.ConvDecoderTask):
        assert cls.utterances is splits.DatasetSplits.utterances, cls
    calls = []

    def fake(data, split, seed=0):
        calls.append((data.root, split, seed))
        return [manifest.Utterance(path=f"/{split}.wav", text=split, speaker="s", duration=1.0,
                                   split=split)]
    monkeypatch.setattr(sources, "utterances", fake)

    class Task(splits.DatasetSplits):
        def __init__(self, root, seed):
            self.config = get_config("tiny")
            self.config.data.root, self.config.seed = root, seed

    one, two = Task("/a", 3), Task("/b", 4)
    assert one.utterances("train")[0].text == "train" and one.utterances("test")[0].split == "test"
    assert one.utterances("train") is one.utterances("train")  # read once per split
    assert two.utterances("train")[0].path == "/train.wav"
    assert calls == [("/a", "train", 3), ("/a", "test", 3), ("/b", "train", 4)]
    gone = weakref.ref(one)  # the cache lives on the task: dropping the task frees it
    del one
    gc.collect()
    assert gone() is None


def test_speaker_folders_have_no_words_and_held_out_readers_can_be_excluded(tmp_path):
    import ml_collections
    from voxjax.data import sources
    _tone(str(tmp_path / "spk" / "103" / "103-1-0.opus"), 0.3)
    _tone(str(tmp_path / "spk" / "2136" / "chapter" / "2136-2-0.flac"), 0.2)
    (tmp_path / "spk" / "notes.txt").write_text("not a speaker")
    found = load_manifest("speakers", tmp_path / "spk", "train")
    assert [(u.speaker, u.text, u.split) for u in found] == [("103", "", "train"),
                                                             ("2136", "", "train")]
    data = ml_collections.ConfigDict({"dataset": "speakers", "root": str(tmp_path / "spk"),
                                      "exclude_speakers": ("2136",)})
    assert [u.speaker for u in sources.utterances(data, "train")] == ["103"]
