"""Voice conversion on the built-in synthetic corpus: content (one RNN layer of the frozen causal
STT model, the first one by default, or its CTC posteriors) + speaker -> log-mel, trained by
reconstructing each utterance from its own content, read from a log-mel warped along its mel
axis (``vc.content_warp``) so that the voice comes from the speaker input.

Needs a trained causal STT workdir for the content (``vc.content_workdir``, the main job's
``stt_synth_streaming``); the conv decoder of the TTS pipeline turns the mels into audio.
Command:  voxjax train --config configs/vc_synth.py --workdir runs/vc_synth
              --config.vc.content_workdir=runs/stt_synth_streaming
Zero-shot (condition on the speaker model's embedding, any voice from a reference recording):
          ... --config.vc.speaker=embedding --config.vc.speaker_workdir=runs/speaker_synth
Tiny:     voxjax train --config configs/vc_synth.py:tiny --workdir /tmp/vc_tiny
              --config.vc.content_workdir=/tmp/stt_stream_tiny
Result:   CER ratio 2.62, target voice named 81%, MCD 4.22 vs 6.40 dB (25 ``test`` utterances x
          4 voices), as ``voxjax main`` trains and judges it (2026-12-07, 2-core x86_64 CPU):
          docs/results/conversion.md.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the experiment config; ``arg='tiny'`` shrinks model, data and steps for tests."""
    config = ml_collections.ConfigDict()
    config.task = "vc"
    config.seed = 0
    config.init_from = ""  # a workdir whose parameters start this run (fine-tuning)

    config.vc = vc = ml_collections.ConfigDict()
    vc.content_workdir = "runs/stt_synth_streaming"  # frozen causal STT: its outputs
    vc.content_config = "stt_synth_streaming"  # the content model's shapes before it is trained
    vc.content = "bottleneck"  # bottleneck: an RNN layer's output | posteriors: CTC log-posteriors
    vc.content_layer = 0  # bottleneck only: which RNN layer (-1 = the last, under the CTC head)
    vc.speaker = "id"  # id: one-hot over data.speakers | embedding: the speaker model's
    vc.speaker_workdir = ""  # embedding only: a trained speaker workdir (runs/speaker_synth)
    vc.cache_content = True  # frozen content once before training (unused while warping)
    # Training reads the content from a log-mel stretched by up to this much (0 = off): the first
    # layer's words without its source voice
    # (docs/results/conversion.md#2026-12-07-which-layer-of-the-content-model-carries-the-words).
    vc.content_warp = 0.2

    config.data = data = ml_collections.ConfigDict()
    data.dataset = "synth"  # synth | ljspeech | librispeech | fsdd | manifest
    data.root = "runs/corpus"
    data.size = 6000
    data.train_split = "train"
    data.eval_split = "valid"
    # Mel settings: those of the content STT model and of the conv decoder.
    data.sample_rate = 16000
    data.n_fft = 400
    data.hop_length = 160
    data.n_mels = 80
    data.fmin = 20.0
    data.fmax = 7600.0
    data.buckets = (208, 304, 400, 512, 608, 800, 1008)  # frames; whole 160 ms content chunks
    data.max_label_length = 200  # the pipeline's label padding (labels are not used)
    data.batch_size = 32
    data.num_workers = 1
    data.cache_features = True
    data.speakers = ()  # filled from the training manifest on first use, saved with checkpoints

    config.model = model = ml_collections.ConfigDict()
    model.channels = 256
    model.conv_layers = 2
    model.conv_kernel = 3
    model.rnn_hidden = 256
    model.rnn_layers = 2
    model.use_energy = True
    model.content_width = 0  # > 0: squeeze the content through a linear layer this wide
    model.lookahead_frames = 3  # output frame t renders source frame t - 3: 30 ms more latency

    config.inference = inference = ml_collections.ConfigDict()
    inference.chunk_ms = 40  # streamed input chunk (a multiple of the content model's 40 ms)

    config.optim = optim = ml_collections.ConfigDict()
    optim.learning_rate = 1e-3
    optim.warmup_steps = 200
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
        vc.content_workdir = ""
        vc.content_config = "stt_synth_streaming:tiny"
        vc.content_layer = -1  # the tiny content model has one RNN layer
        vc.content_warp = 0.0  # tests check the cache; tests/test_vc_task.py checks the warp
        data.size = 48
        data.buckets = (304, 608)
        data.max_label_length = 120
        data.batch_size = 8
        data.num_workers = 0
        model.channels = 16
        model.rnn_hidden = 16
        model.rnn_layers = 1
        optim.warmup_steps = 10
        train.steps = 20
        train.log_every = 5
        train.eval_every = 20
        train.checkpoint_every = 10
        train.eval_batches = 1
    return config
