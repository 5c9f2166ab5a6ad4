"""Conv decoder (log-mel -> waveform) on the built-in synthetic corpus: causal Vocos-like, no GAN.

Command:  voxjax train --config configs/decoder_synth.py --workdir runs/decoder_synth
Tiny:     voxjax train --config configs/decoder_synth.py:tiny --workdir /tmp/decoder_tiny
HiFi-GAN-like family: add --config.model.family=hifigan; GAN: --config.gan.enabled=True.
Result:   copy synthesis of all 360 ``test`` utterances at ASR-CER ratio 1.03 (STT beam judge),
          MCD 1.16 dB, after 5,000 steps in 1,053 s (2026-11-25, 2-core x86_64 CPU):
          docs/results/tts.md.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Returns the experiment config; ``arg='tiny'`` shrinks model, data and steps for tests."""
    config = ml_collections.ConfigDict()
    config.task = "decoder"
    config.seed = 0
    config.init_from = ""  # a workdir whose parameters start this run (fine-tuning)

    config.data = data = ml_collections.ConfigDict()
    data.dataset = "synth"  # synth | ljspeech | librispeech | fsdd | manifest
    data.root = "runs/corpus"  # corpus folder (built on demand for 'synth')
    data.size = 6000  # utterances in the synthetic corpus (all splits)
    data.train_split = "train"
    data.eval_split = "valid"
    # The same features as the STT configs, so TTS and decoder workdirs agree.
    data.sample_rate = 16000
    data.n_fft = 400
    data.hop_length = 160
    data.n_mels = 80
    data.fmin = 20.0
    data.fmax = 7600.0
    data.segment_frames = 64  # training crop (0.64 s); random offset per row and batch
    data.eval_segment_frames = 200  # evaluation: the centre 2 s of each utterance
    data.batch_size = 16  # global batch, split over the 'data' mesh axis
    data.num_workers = 1  # grain worker processes (0 = in-process)

    config.model = model = ml_collections.ConfigDict()
    model.family = "vocos"  # vocos | hifigan
    model.causal = True  # streamable; False = centred convs, offline only
    # vocos: ConvNeXt stack at frame rate -> STFT (640-sample frames) -> iSTFT
    model.dim = 192
    model.intermediate = 576  # 3 x dim
    model.layers = 6
    model.kernel_size = 7
    model.overlap = 4  # synthesis FFT = overlap x hop = 640 samples
    # hifigan: sub-pixel upsampling 8 x 5 x 4 = hop, MRF residual blocks
    model.channels = 128
    model.upsample_rates = (8, 5, 4)
    model.resblock_kernels = (3, 7)
    model.resblock_dilations = (1, 3, 5)

    # Inference (no effect on training): offline synthesis runs the streaming step over chunks of
    # this many frames under lax.scan, exactly as a stream does one chunk at a time.
    config.inference = ml_collections.ConfigDict()
    config.inference.chunk_frames = 10

    config.loss = loss = ml_collections.ConfigDict()
    loss.mel_weight = 1.0  # log-mel L1 (the project's own 80-bin front end)
    loss.stft_weight = 1.0  # spectral convergence + log-magnitude L1, averaged over resolutions
    loss.stft_resolutions = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))  # fft, hop, win

    config.gan = gan = ml_collections.ConfigDict()
    gan.enabled = False  # off by default: the discriminators cost more than the generator on CPU
    gan.periods = (2, 3, 5, 7, 11)  # multi-period discriminator
    gan.period_channels = (16, 32, 64, 64)
    gan.resolutions = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))  # multi-resolution
    gan.resolution_channels = 16
    # HiFi-GAN weighs adversarial : feature matching : mel as 1 : 2 : 45; relative to mel 1.
    gan.adversarial_weight = 1.0 / 45
    gan.feature_weight = 2.0 / 45

    config.optim = optim = ml_collections.ConfigDict()
    optim.learning_rate = 1e-3
    optim.warmup_steps = 200
    optim.weight_decay = 1e-2
    optim.clip_norm = 5.0

    config.train = train = ml_collections.ConfigDict()
    train.steps = 5000  # ~20 min at ~4.5 steps/s (see the docstring)
    train.log_every = 50
    train.eval_every = 1000
    train.checkpoint_every = 500
    train.keep = 2
    train.eval_batches = 4  # eval batches during training

    config.parallel = parallel = ml_collections.ConfigDict()
    parallel.data = -1  # devices on the 'data' axis; -1 = all
    parallel.multihost = False
    parallel.coordinator = "127.0.0.1:12355"
    parallel.num_processes = 1
    parallel.process_id = 0

    if arg == "tiny":
        data.size = 48
        data.segment_frames = 32
        data.eval_segment_frames = 64
        data.batch_size = 8
        data.num_workers = 0
        model.dim = 32
        model.intermediate = 64
        model.layers = 2
        model.channels = 16
        model.resblock_kernels = (3,)
        model.resblock_dilations = (1, 3)
        gan.period_channels = (4, 8)
        gan.periods = (2, 3)
        gan.resolution_channels = 4
        optim.warmup_steps = 10
        train.steps = 20
        train.log_every = 5
        train.eval_every = 20
        train.checkpoint_every = 10
        train.eval_batches = 1
    return config
