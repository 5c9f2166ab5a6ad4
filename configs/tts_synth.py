"""TTS acoustic model on the built-in synthetic corpus: phonemes -> log-mel, multi-speaker.

Command:  voxjax train --config configs/tts_synth.py --workdir runs/tts_synth
Tiny:     voxjax train --config configs/tts_synth.py:tiny --workdir /tmp/tts_tiny
Result:   ASR-CER ratio 1.42 under the STT beam judge (1.10 greedy), MCD 2.78 dB on 100
          ``test`` sentences, as ``voxjax main`` trains and judges it (2026-12-07, 2-core x86_64
          CPU): docs/results/tts.md.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the experiment config; ``arg='tiny'`` shrinks model, data and steps for tests."""
    config = ml_collections.ConfigDict()
    config.task = "tts"
    config.seed = 0
    config.init_from = ""  # a workdir whose parameters start this run (fine-tuning)

    config.text = ml_collections.ConfigDict()
    config.text.tokens = "phonemes"  # phonemes (eSpeak IPA) | chars

    config.data = data = ml_collections.ConfigDict()
    data.dataset = "synth"  # synth | ljspeech | librispeech | fsdd | manifest
    data.root = "runs/corpus"  # corpus folder (built on demand for 'synth')
    data.size = 6000
    data.train_split = "train"
    data.eval_split = "valid"
    # The mel settings must match the conv decoder's (voxjax synthesize checks them).
    data.sample_rate = 16000
    data.n_fft = 400
    data.hop_length = 160
    data.n_mels = 80
    data.fmin = 20.0
    data.fmax = 7600.0
    # Padded lengths in mel frames (multiples of model.reduction); see configs/stt_synth.py.
    data.buckets = (200, 250, 300, 350, 400, 450, 500, 550, 600, 700, 800, 1000)
    data.max_label_length = 256  # padded token length (at most)
    # Per-bucket token widths: phonemes run at up to ~0.26 per 10 ms frame on this corpus.
    data.labels_per_frame = 0.3
    data.batch_size = 32
    data.num_workers = 1
    data.cache_features = True  # log-mels kept under <root>/.feature_cache after epoch 1
    data.speakers = ()  # filled from the training manifest on first use, saved with checkpoints

    config.model = model = ml_collections.ConfigDict()
    model.embed_dim = 256
    model.conv_layers = 3
    model.encoder_hidden = 128
    model.speaker_dim = 64
    model.duration_channels = 256
    model.prenet_dim = 128
    model.prenet_dropout = 0.5
    model.decoder_hidden = 256
    model.decoder_layers = 2
    # 3 (with buckets and chunks in multiples of 3) measured 2026-12-07: 0.82x the step time,
    # CER ratio 1.86 vs 1.77 and MCD 2.87 vs 2.77 dB on 50 test sentences
    # (docs/results/tts.md#2026-12-07-three-mel-frames-per-decoder-step): kept at 2.
    model.reduction = 2
    model.postnet_channels = 128  # 256 doubles the step time on 2 cores
    model.postnet_layers = 5
    model.postnet_kernel = 5
    model.dropout = 0.1

    # Inference settings (no effect on training), tuned on `valid` with
    # experiments/synthesis_sweep.py. pace > 1 speaks slower: the duration predictor, fitted in
    # log(1 + frames), comes out ~4% short of the aligner's durations, and 1.05 undoes that.
    # Prenet dropout kept on at inference (Tacotron 2) measured worse here, so it stays off.
    config.inference = inference = ml_collections.ConfigDict()
    inference.pace = 1.05
    inference.chunk_frames = 10  # mel frames in a sentence's first streamed chunk (100 ms), a multiple of reduction
    # Later chunks double up to this (10, 20, 40, 40, ... frames): the text is known up front, so
    # bigger chunks add no latency once playback is ahead, and they spread the step's fixed
    # cost (benchmarks/tts.py compares 10, 20 and 10-40).
    inference.max_chunk_frames = 40
    model.inference_prenet_dropout = False

    config.loss = loss = ml_collections.ConfigDict()
    loss.align = 1.0
    loss.binarization = 0.1
    loss.duration = 0.5

    config.optim = optim = ml_collections.ConfigDict()
    optim.learning_rate = 1e-3
    optim.warmup_steps = 300
    optim.weight_decay = 1e-2
    optim.clip_norm = 1.0

    config.train = train = ml_collections.ConfigDict()
    train.steps = 2000
    train.log_every = 50
    train.eval_every = 1000
    train.checkpoint_every = 250
    train.keep = 2
    train.eval_batches = 4

    config.parallel = parallel = ml_collections.ConfigDict()
    parallel.data = -1
    parallel.multihost = False
    parallel.coordinator = "127.0.0.1:12355"
    parallel.num_processes = 1
    parallel.process_id = 0

    if arg == "tiny":
        data.size = 48
        data.buckets = (300, 600)
        data.max_label_length = 160
        data.batch_size = 8
        data.num_workers = 0
        model.embed_dim = 32
        model.conv_layers = 1
        model.encoder_hidden = 16
        model.speaker_dim = 8
        model.duration_channels = 16
        model.prenet_dim = 16
        model.decoder_hidden = 32
        model.decoder_layers = 1
        model.postnet_channels = 16
        model.postnet_layers = 2
        optim.warmup_steps = 20
        train.steps = 20
        train.log_every = 5
        train.eval_every = 20
        train.checkpoint_every = 10
        train.eval_batches = 1
    return config
