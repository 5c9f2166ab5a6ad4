"""Audio I/O and the two log-mel front ends."""
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import soundfile as sf

from voxjax import audio

CFG = audio.MelConfig()


def _tone(seconds=1.0, rate=16000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_jnp_front_end_matches_numpy_features():
    wave = _tone() + 0.01 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    ref = audio.log_mel(wave, CFG)
    out = np.asarray(audio.log_mel_jnp(jnp.asarray(wave)[None], CFG))[0]
    assert ref.shape == out.shape == (100, CFG.n_mels)
    np.testing.assert_allclose(out, ref, atol=2e-3)


def test_streaming_front_end_equals_offline_for_any_chunking():
    wave = jnp.asarray(_tone(0.96))[None]
    offline = audio.log_mel_jnp(wave, CFG)
    state, pieces, start = audio.log_mel_init_state(1, CFG), [], 0
    for size in (160, 1280, 480, 3200, 160, 10080):
        state, frames = audio.log_mel_step(state, wave[:, start:start + size], CFG)
        pieces.append(frames)
        start += size
    assert start == wave.shape[1]
    np.testing.assert_allclose(jnp.concatenate(pieces, 1), offline, atol=1e-5)


@pytest.mark.parametrize("n_fft,hop,win_length", [(400, 160, 400), (512, 128, 300), (256, 64, 256)])
def test_jnp_stft_matches_librosa(n_fft, hop, win_length):
    wave = np.random.default_rng(1).standard_normal((2, 3000)).astype(np.float32)
    out = np.asarray(audio.stft_jnp(jnp.asarray(wave), n_fft, hop, win_length))
    for row in range(2):
        ref = librosa.stft(wave[row], n_fft=n_fft, hop_length=hop, win_length=win_length,
                           window="hann", center=False).T
        assert out[row].shape == ref.shape == ((3000 - n_fft) // hop + 1, n_fft // 2 + 1)
        np.testing.assert_allclose(out[row], ref, atol=1e-5 * np.abs(ref).max())


def test_hann_window_is_periodic_and_centred_in_a_longer_frame():
    # Periodic Hann: numpy's symmetric window of n + 1 points without its last one.
    np.testing.assert_allclose(audio.hann_window(8), np.hanning(9)[:-1], atol=1e-15)
    padded = audio.hann_window(6, 10)
    assert padded.shape == (10,) and not padded[:2].any() and not padded[-2:].any()
    np.testing.assert_allclose(padded[2:8], np.hanning(7)[:-1], atol=1e-15)
    with pytest.raises(ValueError):
        audio.hann_window(12, 10)


def test_frame_signal_frames_are_the_hops_of_the_signal():
    signal = jnp.arange(20.0)[None]
    frames = np.asarray(audio.frame_signal(signal, 6, 4))
    np.testing.assert_array_equal(frames[0], [np.arange(k, k + 6) for k in (0, 4, 8, 12)])
    assert audio.frame_signal(signal[:, :5], 6, 4).shape == (1, 0, 6)  # shorter than a frame


def test_peak_frequency_lands_in_the_right_mel_bin():
    feats = audio.log_mel(_tone(freq=1000.0), CFG)
    centers = librosa.mel_frequencies(CFG.n_mels + 2, fmin=CFG.fmin, fmax=CFG.fmax)[1:-1]
    assert abs(centers[feats[50].argmax()] - 1000.0) < 60.0


@pytest.mark.parametrize("rate,subtype,channels", [
    (8000, "PCM_16", 1), (44100, "PCM_24", 2), (48000, "PCM_U8", 1), (16000, "FLOAT", 2)])
def test_load_resamples_and_downmixes(tmp_path, rate, subtype, channels):
    wave = _tone(0.5, rate)
    data = np.stack([wave] * channels, 1) if channels > 1 else wave
    path = tmp_path / "x.wav"
    sf.write(path, data, rate, subtype=subtype)
    out = audio.load_audio(path, 16000)
    assert out.ndim == 1 and abs(len(out) - 8000) <= 2
    assert 0.25 < np.abs(out).max() < 0.35


@pytest.mark.parametrize("make,message", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00garbage" * 4), "cannot decode"),
    (lambda p: sf.write(p, np.zeros(0, np.float32), 16000), "empty"),
    (lambda p: sf.write(p, np.full(800, np.nan, np.float32), 16000, subtype="FLOAT"), "NaN"),
])
def test_bad_audio_is_refused_with_a_reason(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(audio.AudioError, match=message):
        audio.load_audio(path, 16000)
