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
Result (2-core CPUs; judged on 25 test utterances x 4 voices, README "Speech conversion"):
          2026-12-07, x86_64, this config as is (speaker id, first layer, warped content, 3
          frames of look-ahead; content computed in every step): 936 s, valid mel L1 0.926,
          CER ratio 2.88 (2.10 into the source's own voice), voice named 65%, nearer the
          target than the source 92%, MCD 4.20 vs 6.40 dB.
          2026-12-06, x86_64, the default of then (speaker id, middle layer,
          ``vc.content_layer=-2 --config.vc.content_warp=0``, 3 frames of look-ahead, content
          cached): 774 s, short test runs beside it (median 372 s of audio
          per second), valid mel L1 0.953, CER ratio 3.58 (2.12 into the source's own voice;
          judge CER 3.08% on the sources), voice named 64%, nearer the target than the source
          88%, MCD 4.15 vs 6.40 dB.
          The first RNN layer (``vc.content_layer=0``, 2026-12-07, 703 s): CER ratio 2.35, but
          voice named 48%, nearer 74%, MCD 4.65 dB: more words and more of the source voice;
          squeezed (``model.content_width=32`` / ``16``): 2.96 / 3.16, 59% / 61%, 4.37 / 4.36
          dB (experiments/vc_content.py); the warp (0.2) gives the first layer's words
          back their voice: the first result above.
          The same without look-ahead (``model.lookahead_frames=0``, content computed in every
          step): 1,429 s (median 302 s of audio per second, partly beside the test suite), L1
          1.115, CER ratio 7.88 (own voice 6.04), voice named 62%, nearer 89%, MCD 4.41 dB.
          2026-12-06, x86_64, embedding-conditioned (``vc.speaker=embedding``), no look-ahead,
          judge CER 3.08% on the sources: middle RNN layer (``content_layer=-2``)
          valid mel L1 1.111, CER ratio 7.27 (5.17 converting to the source's own
          voice), voice named 53%, MCD 4.48 vs 6.40 dB; last layer (-1) L1 1.219, ratio 11.4
          (own voice 9.19), 51%, 4.43 dB. Zero-shot from 5-10 s clips of unseen voices: ratio
          5.95 / 9.94, nearer the target than the source 84% / 88%, MCD 4.64 / 4.67 vs 5.72 dB.
          2026-12-04, AMD EPYC, id-conditioned, judge CER 11.7% on the sources (a cut-short
          judge: not comparable with the ratios above): last layer 1,789 s (CPU shared), L1
          1.227, ratio 3.52, voice named 67%, MCD 4.46 vs 6.40 dB; CTC posteriors 1,510 s
          (median 174 s of audio per second), L1 1.415, ratio 4.77, 65%, MCD 4.77 dB.
          The issue's targets are missed.
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
    # layer's words without its source voice (README "Speech conversion, fifth round").
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
