"""Seeded waveform augmentation (voxjax.data.wave_augment)."""
import ml_collections
import numpy as np
import pytest
import scipy.signal

from voxjax.data import wave_augment
from voxjax.data.wave_augment import WaveAugment, speed_perturb

SR = 16000
STEPS = ("reverb_prob", "noise_prob", "telephone_prob", "gain_prob")


def _cfg(**values):
    return ml_collections.ConfigDict(values)


def _speech_like(seconds=1.0, seed=0, level=0.3):
    """Voiced-speech stand-in: pulse train, wandering f0, two formants, syllable envelope."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    phase = np.cumsum(120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))) / SR
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    voice = sum(gain * scipy.signal.lfilter(*scipy.signal.iirpeak(freq, 5, fs=SR), pulses)
                for freq, gain in ((700, 1.0), (1800, 0.5)))
    wave = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 2 * voice
    wave += 1e-3 * rng.standard_normal(t.size)
    return (level * wave / np.max(np.abs(wave))).astype(np.float32)


def _sine(freq, seconds=1.0, level=0.3):
    return (level * np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def _db(x):
    return 10 * np.log10(np.mean(np.square(np.asarray(x, np.float64))))


def _peak_hz(wave):
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return np.fft.rfftfreq(wave.size, 1 / SR)[np.argmax(spectrum)]


ALL_ON = {key: 1.0 for key in STEPS}


def test_same_seed_same_output_different_seed_different_output():
    aug, wave, others = WaveAugment(_cfg(**ALL_ON), SR), _speech_like(), [_speech_like(seed=1)]
    a = aug(wave, np.random.default_rng(7), others)
    np.testing.assert_array_equal(a, aug(wave, np.random.default_rng(7), others))
    assert not np.allclose(a, aug(wave, np.random.default_rng(8), others))


@pytest.mark.parametrize("steps", [(s,) for s in STEPS] + [STEPS], ids=lambda s: "+".join(s))
@pytest.mark.parametrize("length", [SR, 25])
def test_every_step_keeps_length_dtype_range_and_finiteness(steps, length):
    aug = WaveAugment(_cfg(**{s: 1.0 for s in steps}), SR)
    assert aug.active
    wave = _speech_like()[SR // 4:SR // 4 + length]
    for seed in range(3):
        out = aug(wave, np.random.default_rng(seed), [_speech_like(seed=2)])
        assert out.shape == wave.shape and out.dtype == np.float32
        assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
        assert not np.array_equal(out, wave)


@pytest.mark.parametrize("babble", [0.0, 1.0], ids=["coloured", "babble"])
def test_noise_is_added_at_the_drawn_snr(babble):
    aug = WaveAugment(_cfg(noise_prob=1.0, noise_snr_min=10.0, noise_snr_max=10.0,
                           babble_prob=babble), SR)
    clean = _speech_like(level=0.1)
    others = [_speech_like(0.7, seed=s) for s in (3, 4, 5)]
    for seed in range(4):
        out = aug(clean, np.random.default_rng(seed), others)
        assert abs(_db(clean) - _db(out.astype(np.float64) - clean) - 10.0) < 0.5


def test_babble_from_silent_others_falls_back_to_coloured_noise():
    aug = WaveAugment(_cfg(noise_prob=1.0, babble_prob=1.0), SR)
    clean = _speech_like(level=0.1)
    out = aug(clean, np.random.default_rng(0), [np.zeros(SR, np.float32)])
    assert np.all(np.isfinite(out)) and not np.allclose(out, clean)


def test_telephone_band_keeps_voice_band_and_removes_the_rest():
    aug = WaveAugment(_cfg(telephone_prob=1.0), SR)
    middle = slice(SR // 4, 3 * SR // 4)  # away from the filter's edge transients
    for freq, keep in ((100, False), (1000, True), (6000, False)):
        tone = _sine(freq)
        drop = _db(tone[middle]) - _db(aug(tone, np.random.default_rng(0))[middle])
        assert (abs(drop) < 1.0) if keep else (drop > 20.0), (freq, drop)


def test_reverb_changes_audio_keeps_it_correlated_aligned_and_rms_matched():
    aug = WaveAugment(_cfg(reverb_prob=1.0), SR)
    wave = _speech_like(2.0)
    correlations = []
    for seed in range(16):
        out = aug(wave, np.random.default_rng(seed)).astype(np.float64)
        assert not np.allclose(out, wave, atol=1e-3)
        assert abs(_db(out) - _db(wave)) < 0.01
        correlations.append(np.corrcoef(wave, out)[0, 1])
    assert np.mean(correlations) > 0.5, correlations


def test_rir_bank_is_built_once_and_aligned_on_the_direct_path():
    aug = WaveAugment(_cfg(reverb_prob=1.0, rir_bank_size=8), SR)
    aug(_speech_like(), np.random.default_rng(0))
    before = wave_augment.rir_bank.cache_info()
    aug(_speech_like(), np.random.default_rng(1))
    after = wave_augment.rir_bank.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 1
    bank = wave_augment.rir_bank(SR, 8, 0.2, 0.8, 0)
    assert len(bank) == 8
    for rir, peak in bank:
        energy = np.square(rir.astype(np.float64))
        # Nothing but the fractional-delay filter's pre-ringing comes before the direct path.
        assert abs(rir[peak]) == pytest.approx(1.0)
        assert energy[:peak - 3].sum() < 0.05 * energy.sum()


def test_gain_scales_exactly():
    aug = WaveAugment(_cfg(gain_prob=1.0, gain_db_min=-6.0, gain_db_max=-6.0), SR)
    wave = _speech_like()
    np.testing.assert_allclose(aug(wave, np.random.default_rng(0)), wave * 10 ** (-6 / 20),
                               rtol=1e-6, atol=1e-7)


def test_loud_output_is_peak_normalised_not_clipped():
    aug = WaveAugment(_cfg(gain_prob=1.0, gain_db_min=6.0, gain_db_max=6.0), SR)
    wave = _speech_like(level=0.9)
    out = aug(wave, np.random.default_rng(0))
    assert np.max(np.abs(out)) == pytest.approx(0.99, abs=1e-6)
    np.testing.assert_allclose(out, wave * (0.99 / 0.9), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cfg", [_cfg(), _cfg(**{s: 0.0 for s in STEPS}), None],
                         ids=["empty", "zero", "none"])
def test_inactive_config_returns_the_input(cfg):
    aug = WaveAugment(cfg, SR)
    wave = _speech_like()
    assert not aug.active
    np.testing.assert_array_equal(aug(wave, np.random.default_rng(0), [wave]), wave)


def test_silent_input_stays_finite_and_silent():
    aug = WaveAugment(_cfg(**ALL_ON), SR)
    silence = np.zeros(SR, np.float32)
    for others in ([], [_speech_like()]):
        out = aug(silence, np.random.default_rng(0), others)
        assert out.shape == silence.shape and np.all(np.isfinite(out))
        np.testing.assert_array_equal(out, silence)


def test_inverted_ranges_are_rejected():
    with pytest.raises(ValueError):
        WaveAugment(_cfg(noise_prob=1.0, noise_snr_min=20.0, noise_snr_max=5.0), SR)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturb_changes_length_and_pitch_together(factor):
    tone = _sine(440.0, seconds=2.0)
    out = speed_perturb(tone, factor, SR)
    assert out.dtype == np.float32 and out.size == round(tone.size / factor)
    assert abs(_peak_hz(out) - 440.0 * factor) < 2.0


def test_speed_perturb_identity():
    tone = _sine(440.0)
    np.testing.assert_array_equal(speed_perturb(tone, 1.0, SR), tone)
