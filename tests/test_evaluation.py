"""TTS evaluation utilities: mel-cepstral distortion, Griffin-Lim baseline, plots."""
import numpy as np
import pytest

from voxjax import audio, evaluation
from voxjax.evaluation import judges

SR = 16000


def _speak(text, voice="en-us", rate=175):
    from voxjax.espeak import get_espeak
    wave, rate_hz = get_espeak().synthesize(text, voice, rate=rate)
    return audio.prepare_wave(wave, rate_hz, SR)


@pytest.fixture(scope="module")
def hello():
    return _speak("hello world")


def _noise(like, scale, seed=0):
    rms = np.sqrt(np.mean(like ** 2))
    return (np.random.default_rng(seed).standard_normal(len(like)) * rms * scale).astype(np.float32)


def test_mcd_of_a_wave_with_itself_is_zero(hello):
    assert evaluation.mel_cepstral_distortion(hello, hello, SR) == pytest.approx(0.0, abs=1e-9)


def test_mcd_ignores_gain_and_has_the_documented_frames(hello):
    # c0 (overall level) is excluded; measured 0.015 dB for half the amplitude.
    assert evaluation.mel_cepstral_distortion(hello, 0.5 * hello, SR) < 0.1
    assert evaluation.mel_cepstra(hello, SR).shape == (1 + len(hello) // 80, 24)  # 5 ms hop


def test_mcd_grows_with_noise(hello):
    # SNR 40, 30, 20, 10, 0 dB; measured about 1.9, 3.3, 5.1, 6.7, 8.1 dB MCD.
    mcds = [evaluation.mel_cepstral_distortion(hello, hello + _noise(hello, 10 ** (-snr / 20)), SR)
            for snr in (40, 30, 20, 10, 0)]
    assert all(a < b for a, b in zip(mcds, mcds[1:])), mcds
    assert mcds[0] > 0.5


def test_mcd_is_time_aligned_by_dtw(hello):
    other = evaluation.mel_cepstral_distortion(hello, _speak("good morning friends"), SR)
    delayed = np.concatenate([np.zeros(400, np.float32), hello])  # 25 ms later, longer
    slower = _speak("hello world", rate=140)  # 25% longer, same phones
    assert other > 5.0  # measured 7.2
    assert evaluation.mel_cepstral_distortion(hello, delayed, SR) < 0.1 * other  # measured 0.003
    assert evaluation.mel_cepstral_distortion(hello, slower, SR) < 0.3 * other  # measured 0.96


def test_mcd_rejects_empty(hello):
    with pytest.raises(ValueError, match="non-empty"):
        evaluation.mel_cepstral_distortion(hello, np.zeros(0, np.float32), SR)


def test_griffin_lim_reconstructs_log_mel_aligned(hello):
    cfg = audio.MelConfig()
    mel = audio.log_mel(hello, cfg)
    wave = evaluation.griffin_lim(mel, cfg, n_iter=32)
    assert wave.shape == (len(mel) * cfg.hop_length,) and wave.dtype == np.float32

    def error(w):
        return float(np.abs(audio.log_mel(w, cfg) - mel)[4:-4].mean())

    # Measured 0.69 nats (0.63 with 100 iterations: the rest is the mel inversion and phase
    # inconsistency); white noise of the same RMS is 5.1. 1.0 leaves room for library changes.
    assert error(wave) < 1.0
    assert error(wave) < 0.25 * error(_noise(hello, 1.0))
    # Alignment: moving the output half a hop either way makes it worse (measured 0.88-0.90).
    for shift in (-80, 80):
        assert error(np.roll(wave, shift)) > error(wave) + 0.1


def test_griffin_lim_rejects_wrong_shape():
    with pytest.raises(ValueError, match="80"):
        evaluation.griffin_lim(np.zeros((10, 40)), audio.MelConfig())


def test_plot_helpers_write_pngs(tmp_path, hello):
    mel = audio.log_mel(hello, audio.MelConfig())
    tokens = list("hello world")
    alignment = np.random.default_rng(0).dirichlet(np.ones(len(tokens)), size=len(mel))
    durations = np.full(len(tokens), len(mel) / len(tokens))
    paths = [tmp_path / "mel.png", tmp_path / "align.png", tmp_path / "dur.png"]
    evaluation.plot_mel(mel, str(paths[0]), "mel")
    evaluation.plot_alignment(alignment, str(paths[1]), "alignment", tokens=tokens)
    evaluation.plot_durations(durations, str(paths[2]), tokens=tokens)
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_dnsmos_rates_a_clean_recording_above_the_same_recording_in_noise():
    score = judges.dnsmos_scorer()
    if score is None:
        pytest.skip("speechmos (the eval extra) is not installed")
    import os
    clip = audio.load_audio(os.path.join(os.path.dirname(__file__), "fixtures",
                                         "kathleen_arctic_a0495.opus"), 24000)  # resampled
    clean = score(clip, 24000)
    noisy = score(clip + _noise(clip, 1.0), 24000)
    assert set(clean) == {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}
    assert clean["dnsmos_ovrl"] > noisy["dnsmos_ovrl"] + 0.5
    assert clean["dnsmos_bak"] > noisy["dnsmos_bak"] + 1.0
