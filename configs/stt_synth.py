"""STT on the built-in synthetic corpus: conv front end + BiGRU + CTC over characters.

Command:  voxjax train --config configs/stt_synth.py --workdir runs/stt_synth
Tiny:     voxjax train --config configs/stt_synth.py:tiny --workdir /tmp/stt_tiny
Result:   ``test`` CER 2.82% beam + text prior (7.48% greedy), 2,000 steps in 1,171 s
          (2026-11-25, 2-core x86_64 CPU): docs/results/stt.md.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the experiment config; ``arg='tiny'`` shrinks model, data and steps for tests."""
    config = ml_collections.ConfigDict()
    config.task = "stt"
    config.seed = 0
    config.init_from = ""  # a workdir whose parameters start this run (fine-tuning)

    config.data = data = ml_collections.ConfigDict()
    data.dataset = "synth"  # synth | ljspeech | librispeech | fsdd | manifest
    data.root = "runs/corpus"  # corpus folder (built on demand for 'synth')
    data.size = 6000  # utterances in the synthetic corpus (all splits)
    data.train_split = "train"
    data.eval_split = "valid"
    data.sample_rate = 16000
    data.n_fft = 400
    data.hop_length = 160
    data.n_mels = 80
    data.fmin = 20.0
    data.fmax = 7600.0
    # Padded lengths in feature frames (10 ms). A step costs about linear time in its bucket,
    # and each bucket compiles once (~5 s here), so 12 buckets (93% of padded frames real)
    # train faster than 4 (79%); with the feature cache and fewer in-loop evals the run went
    # from 1,301 s to 1,171 s.
    data.buckets = (200, 250, 300, 350, 400, 450, 500, 550, 600, 700, 800, 1000)
    data.max_label_length = 200  # padded label length (characters)
    data.batch_size = 32  # global batch, split over the 'data' mesh axis
    data.num_workers = 1  # grain worker processes (0 = in-process)
    data.cache_features = True  # log-mels kept under <root>/.feature_cache after epoch 1
    data.cache_dir = ""  # feature cache folder ("" = <root>/.feature_cache, ~/.cache for others)
    data.randomize_voices = False  # built-in corpus: per-utterance eSpeak pitch/range/rate/Klatt
    # Built-in corpus mixed into another dataset's training data (0 = off): this share of every
    # epoch's training utterances comes from the corpus at synth_root (built if missing).
    data.synth_ratio = 0.0
    data.synth_root = "runs/corpus"
    data.synth_size = 6000
    data.augment = augment = ml_collections.ConfigDict()
    # SpecAugment, on device inside the train step (voxjax/data/augment.py).
    augment.freq_masks = 2
    augment.freq_width = 10
    augment.time_masks = 2
    augment.time_width = 20
    # Waveform augmentation in the grain workers (voxjax/data/wave_augment.py); all off here.
    augment.speed_factors = ()  # e.g. (0.9, 1.0, 1.1): one training item per factor (Kaldi)
    augment.reverb_prob = 0.0  # simulated rooms (pyroomacoustics), RT60 in [min, max] s
    augment.reverb_rt60_min = 0.2
    augment.reverb_rt60_max = 0.8
    augment.noise_prob = 0.0  # additive noise at an SNR in [min, max] dB
    augment.noise_snr_min = 5.0
    augment.noise_snr_max = 30.0
    augment.babble_prob = 0.5  # share of noise that is babble (other utterances of the batch)
    augment.telephone_prob = 0.0  # band-limit to 300-3400 Hz
    augment.gain_prob = 0.0  # random gain in [min, max] dB
    augment.gain_db_min = -12.0
    augment.gain_db_max = 6.0

    config.model = model = ml_collections.ConfigDict()
    model.conv_channels = 256
    model.conv_layers = 2  # each halves the frame rate: x4 subsampling
    model.rnn_cell = "gru"  # gru | lstm
    model.rnn_hidden = 256
    model.rnn_layers = 3
    model.bidirectional = True
    model.dropout = 0.1
    model.streaming = False
    model.normalization = "fixed"  # fixed | global (per-bin training statistics, checkpointed)

    config.optim = optim = ml_collections.ConfigDict()
    optim.learning_rate = 1.5e-3
    optim.warmup_steps = 300
    optim.weight_decay = 1e-2
    optim.clip_norm = 5.0

    config.train = train = ml_collections.ConfigDict()
    train.steps = 2000
    train.log_every = 50
    train.eval_every = 1000
    train.checkpoint_every = 250
    train.keep = 2
    train.eval_batches = 8  # eval batches during training (full split in `voxjax eval`)

    # Inference settings (no effect on training): read by `voxjax transcribe`, `voxjax eval`,
    # the benchmarks and the main job; their flags only override them.
    config.inference = inference = ml_collections.ConfigDict()
    inference.chunk_ms = 160  # streaming chunk (a multiple of 10 ms x subsampling)
    inference.greedy = False  # True: best-path CTC; False: prefix beam search + text prior
    inference.beam_size = 8
    inference.prior_order = 6  # character n-gram text prior
    # Tuned on `valid` with experiments/decode_sweep.py (CER 3.7% at 0.5/1.0 -> 3.2% at 0.8/2.0).
    inference.prior_weight = 0.8
    inference.length_bonus = 2.0

    config.parallel = parallel = ml_collections.ConfigDict()
    parallel.data = -1  # devices on the 'data' axis; -1 = all
    parallel.multihost = False
    parallel.coordinator = "127.0.0.1:12355"
    parallel.num_processes = 1
    parallel.process_id = 0

    if arg == "tiny":
        data.size = 48
        data.buckets = (300, 600)
        data.max_label_length = 120
        data.batch_size = 8
        data.num_workers = 0
        model.conv_channels = 32
        model.rnn_hidden = 32
        model.rnn_layers = 1
        train.steps = 20
        train.log_every = 5
        train.eval_every = 20
        train.checkpoint_every = 10
        train.eval_batches = 1
    return config
