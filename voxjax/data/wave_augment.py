"""Seeded waveform augmentation for STT training: reverb, noise, telephone band, gain, speed.

Design. The data pipeline calls :class:`WaveAugment` on the host, once per batch row, with a
``np.random.Generator`` seeded from ``(config.seed, batch key, row)``. All random draws come from
that generator, so an augmented batch depends only on its place in the batch plan, not on the
number of grain workers or on which worker built it (the same contract as the plan itself).

The chain runs in the order of the Kaldi and ESPnet robustness recipes (Kaldi's
``reverberate_data_dir.py``, ESPnet's RIR-then-noise preprocessor): the room reverberates the
talker, then ambient noise adds up (it is not convolved with the talker's RIR), then the channel
band-limits the mixture (telephone) and finally the level changes (gain). Each step has its own
probability in ``config.data.augment``; a missing key switches the step off. A last peak
normalisation replaces hard clipping, which would add harmonics real recordings rarely have.

Room impulse responses are simulated with pyroomacoustics (image source method, shoebox rooms).
That is milliseconds to a second per RIR, far too slow per utterance, so a bank of
``rir_bank_size`` RIRs is simulated once per process from a fixed seed and cached: every grain
worker builds the identical bank, which keeps the output independent of the worker count.

:func:`speed_perturb` changes the length, so it is not part of the chain: it runs where lengths
are decided (before bucketing), as Kaldi's and ESPnet's 0.9/1.0/1.1 speed perturbation does.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import time
from typing import Sequence

import numpy as np
import scipy.signal
import soxr

log = logging.getLogger(__name__)

# Full-order ISM for RT60 = 0.8 s needs order ~100, about 0.9 s per RIR on one core. At order 20
# a RIR takes ~10 ms and its measured T30 stayed within ~25% of the target in a spot check (ISM
# shoeboxes ring longer than Sabine predicts; the truncated tail roughly compensates).
_MAX_ORDER = 20
_ROOM_MIN, _ROOM_MAX = (3.0, 3.0, 2.5), (10.0, 10.0, 4.0)  # metres; ceilings stay realistic
_WALL_MARGIN = 0.5  # metres between walls and the talker or microphone
# Talker-to-microphone distance in metres (headset to meeting-room microphone). Uniform positions
# over a 10 m room put most talkers far-field, where the reverb swamps the direct sound.
_TALKER_DISTANCE = (0.3, 3.0)
_TELEPHONE_BAND = (300.0, 3400.0)  # Hz, the ITU narrow-band telephone channel
_SILENCE_POWER = 1e-10  # mean square below -100 dBFS: no SNR or RMS can be defined
_PEAK = 0.99


@functools.lru_cache(maxsize=4)
def rir_bank(sample_rate: int, bank_size: int, rt60_min: float, rt60_max: float,
             seed: int = 0) -> tuple[tuple[np.ndarray, int], ...]:
    """Simulated room impulse responses, ``(rir, direct_path_index)`` pairs, cached per process."""
    import pyroomacoustics as pra  # a 1-2 s import, paid only by processes that reverberate

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    speed_of_sound = pra.constants.get("c")
    # pra centres every arrival's fractional-delay filter half a filter length late.
    filter_delay = pra.constants.get("frac_delay_length") // 2
    bank = []
    while len(bank) < bank_size:
        dims = rng.uniform(_ROOM_MIN, _ROOM_MAX)
        try:
            absorption, order = pra.inverse_sabine(rng.uniform(rt60_min, rt60_max), dims)
        except ValueError:  # RT60 too short for this room even with fully absorbing walls
            continue
        room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption),
                           max_order=min(order, _MAX_ORDER))
        mic = rng.uniform(_WALL_MARGIN, dims - _WALL_MARGIN)
        while True:  # a random direction and distance from the microphone, inside the room
            direction = rng.standard_normal(3)
            source = mic + rng.uniform(*_TALKER_DISTANCE) * direction / np.linalg.norm(direction)
            if np.all(source >= _WALL_MARGIN) and np.all(source <= dims - _WALL_MARGIN):
                break
        room.add_source(source)
        room.add_microphone(mic)
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], np.float64)
        # The direct path is the first arrival but not always the largest one (coincident
        # images add up), so locate it from the geometry rather than by a global argmax.
        guess = round(np.linalg.norm(source - mic) / speed_of_sound * sample_rate) + filter_delay
        low = max(guess - 2, 0)
        peak = low + int(np.argmax(np.abs(rir[low:guess + 3])))
        rir = (rir / abs(rir[peak])).astype(np.float32)
        rir.flags.writeable = False  # shared by every later call in this process
        bank.append((rir, peak))
    log.info("simulated %d room impulse responses in %.2f s", bank_size,
             time.perf_counter() - start)
    return tuple(bank)


@functools.lru_cache(maxsize=8)
def _telephone_sos(sample_rate: int) -> np.ndarray:
    """Band-pass second-order sections for the telephone band at ``sample_rate``."""
    high = min(_TELEPHONE_BAND[1], 0.45 * sample_rate)  # stays below Nyquist at low rates
    return scipy.signal.butter(4, (_TELEPHONE_BAND[0], high), btype="bandpass", fs=sample_rate,
                               output="sos")


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x))) if x.size else 0.0


def _coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectrum ``1/f^beta``, beta ~ U[0, 2] (white to brown)."""
    beta = rng.uniform(0.0, 2.0)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    # DC takes the lowest bin's gain instead of an infinite one.
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    return np.fft.irfft(spectrum * freqs ** (-beta / 2), n)


def _babble(n: int, others: Sequence[np.ndarray], max_speakers: int,
            rng: np.random.Generator) -> np.ndarray:
    """Sum of 1..max_speakers other utterances at equal loudness, looped from random offsets."""
    count = int(rng.integers(1, min(max_speakers, len(others)) + 1))
    noise = np.zeros(n)
    for index in rng.choice(len(others), size=count, replace=False):
        other = np.asarray(others[index], np.float64)
        power = _power(other)
        if power < _SILENCE_POWER:
            continue
        noise += np.resize(np.roll(other, -int(rng.integers(other.size))), n) / np.sqrt(power)
    return noise


class WaveAugment:
    """Seeded waveform augmentation chain for STT training, configured by config.data.augment."""

    def __init__(self, cfg, sample_rate: int):
        cfg = {} if cfg is None else cfg
        self.sample_rate = int(sample_rate)
        self.reverb_prob = float(cfg.get("reverb_prob", 0.0))
        self.rt60 = (float(cfg.get("reverb_rt60_min", 0.2)), float(cfg.get("reverb_rt60_max", 0.8)))
        self.rir_bank_size = int(cfg.get("rir_bank_size", 32))
        self.rir_seed = int(cfg.get("rir_seed", 0))
        self.noise_prob = float(cfg.get("noise_prob", 0.0))
        self.snr_db = (float(cfg.get("noise_snr_min", 5.0)), float(cfg.get("noise_snr_max", 30.0)))
        self.babble_prob = float(cfg.get("babble_prob", 0.5))
        self.babble_max_speakers = max(1, int(cfg.get("babble_max_speakers", 3)))
        self.telephone_prob = float(cfg.get("telephone_prob", 0.0))
        self.gain_prob = float(cfg.get("gain_prob", 0.0))
        self.gain_db = (float(cfg.get("gain_db_min", -12.0)), float(cfg.get("gain_db_max", 6.0)))
        for name, (low, high) in (("reverb_rt60", self.rt60), ("noise_snr", self.snr_db),
                                  ("gain_db", self.gain_db)):
            if low > high:
                raise ValueError(f"data.augment.{name}_min > {name}_max: {low} > {high}")
        if self.reverb_prob > 0 and (self.rir_bank_size < 1 or self.rt60[0] <= 0):
            raise ValueError("data.augment: reverb needs rir_bank_size >= 1, reverb_rt60_min > 0")
        if self.reverb_prob > 0 and importlib.util.find_spec("pyroomacoustics") is None:
            raise ValueError("data.augment.reverb_prob > 0 simulates rooms with pyroomacoustics, "
                             "which is not installed: pip install 'voxjax[augment]'")

    @property
    def active(self) -> bool:
        """True if any waveform augmentation has probability > 0."""
        return max(self.reverb_prob, self.noise_prob, self.telephone_prob, self.gain_prob) > 0

    def __call__(self, wave: np.ndarray, rng: np.random.Generator,
                 others: Sequence[np.ndarray] = ()) -> np.ndarray:
        """Augments mono float32 ``wave``; same length, float32, within [-1, 1] unless untouched."""
        wave = np.asarray(wave, np.float32)
        if not self.active or wave.size == 0:
            return wave
        # Draw every coin first so one step's parameters never shift another step's decision.
        coins = rng.random(4)
        do_reverb, do_noise, do_phone, do_gain = coins < (
            self.reverb_prob, self.noise_prob, self.telephone_prob, self.gain_prob)
        if not (do_reverb or do_noise or do_phone or do_gain):
            return wave  # clean rows stay bit-identical to the un-augmented pipeline
        out = wave.astype(np.float64)
        if do_reverb:
            out = self._reverb(out, rng)
        if do_noise:
            out = self._noise(out, rng, others)
        if do_phone:
            sos = _telephone_sos(self.sample_rate)
            # Zero-phase, so the band-limited speech is not delayed against its labels.
            padlen = min(3 * (2 * len(sos) + 1), out.size - 1)  # scipy's default, unless too short
            out = scipy.signal.sosfiltfilt(sos, out, padlen=padlen)
        if do_gain:
            out = out * 10.0 ** (rng.uniform(*self.gain_db) / 20.0)
        peak = float(np.max(np.abs(out)))
        if peak > 1.0:
            out = out * (_PEAK / peak)
        if not np.all(np.isfinite(out)):  # impossible by construction; a NaN would poison a batch
            log.warning("waveform augmentation produced non-finite samples; using the clean audio")
            return wave
        return out.astype(np.float32)

    def _reverb(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        bank = rir_bank(self.sample_rate, self.rir_bank_size, *self.rt60, self.rir_seed)
        rir, peak = bank[int(rng.integers(len(bank)))]
        power = _power(wave)
        if power < _SILENCE_POWER:
            return wave
        # Starting at the direct path keeps the speech aligned with its frames; the tail past the
        # input's end is cut because the pipeline has already bucketed the utterance by length.
        wet = scipy.signal.fftconvolve(wave, rir)[peak:peak + wave.size]
        wet_power = _power(wet)
        return wet * np.sqrt(power / wet_power) if wet_power >= _SILENCE_POWER else wave

    def _noise(self, wave: np.ndarray, rng: np.random.Generator,
               others: Sequence[np.ndarray]) -> np.ndarray:
        power = _power(wave)
        snr_db = rng.uniform(*self.snr_db)
        if power < _SILENCE_POWER:
            return wave  # an SNR relative to silence is undefined
        noise = None
        if len(others) and rng.random() < self.babble_prob:
            noise = _babble(wave.size, others, self.babble_max_speakers, rng)
        if noise is None or _power(noise) < _SILENCE_POWER:  # no usable talker in the batch
            noise = _coloured_noise(wave.size, rng)
        noise_power = _power(noise)
        if noise_power < _SILENCE_POWER:  # a one-sample wave can draw zero noise
            return wave
        return wave + noise * np.sqrt(power / (noise_power * 10.0 ** (snr_db / 10.0)))


def speed_perturb(wave: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Kaldi/ESPnet speed perturbation: tempo and pitch scale by ``factor`` (1.1 = 10% faster)."""
    wave = np.asarray(wave, np.float32)
    if factor == 1.0 or wave.size == 0:
        return wave
    if factor <= 0:
        raise ValueError(f"speed factor must be positive, got {factor}")
    # Reading the samples as if recorded at factor * rate and resampling to rate plays them
    # factor times faster, which is what sox's ``speed`` effect in the Kaldi recipe does.
    out = soxr.resample(wave, sample_rate * factor, sample_rate)
    length = max(1, round(wave.size / factor))
    out = out[:length] if out.size >= length else np.pad(out, (0, length - out.size))
    return np.asarray(out, np.float32)
