"""The live page in a real browser: Debian's headless Chromium (driven by Playwright, no browser
download) with a fake microphone playing a corpus recording. The page streams what it captures
(its own AudioWorklet, resampled in the browser) and shows the server's transcript, which equals
``voxjax transcribe --stream`` of the audio the server received, and that audio is the
recording; typed text comes back as audio that the page plays. Without a browser the test
skips, except under CI=true, where a missing browser is a failure (.ci/run installs it)."""
import os
import shutil

import numpy as np
import pytest

from voxjax import audio, inference, live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("playwright is not installed" if sync_playwright is None else
               "no chromium on PATH (apt-get install chromium)" if CHROMIUM is None else None)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run in CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


def _padded_recording(path, out_path, rate=16000):
    """The recording between 0.5 s of silence before and 1.5 s after (the fake microphone
    loops its file; the test stops within the trailing silence)."""
    wave = audio.load_audio(path, rate)
    padded = np.concatenate([np.zeros(rate // 2, np.float32), wave,
                             np.zeros(3 * rate // 2, np.float32)])
    audio.save_audio(out_path, padded, rate)
    return wave, len(padded) / rate


def _alignment_score(heard, source):
    """Peak normalised cross-correlation of ``source`` inside ``heard``."""
    n = len(heard) + len(source)
    spectrum = np.fft.rfft(heard, n) * np.conj(np.fft.rfft(source, n))
    correlation = np.fft.irfft(spectrum, n)
    return float(correlation.max() / (np.linalg.norm(source) * np.linalg.norm(heard) + 1e-9))


def test_page_transcribes_the_microphone_and_plays_speech(tmp_path, tiny_streaming_workdir,
                                                          tiny_tts_workdir, tiny_decoder_workdir):
    sync_playwright = _browser_or_skip()
    models = live.LiveModels.load(tiny_streaming_workdir, tiny_tts_workdir, tiny_decoder_workdir)
    server = live.LiveServer(models, record_dir=str(tmp_path / "heard"))
    server.start_up()
    source_path = inference.load_workdir(tiny_streaming_workdir)[1].utterances("test")[0].path
    source, seconds = _padded_recording(source_path, str(tmp_path / "mic.wav"))
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={tmp_path / 'mic.wav'}"]
    with live.BackgroundServer(server) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("document.getElementById('status').textContent.startsWith('ready')",
                               timeout=30000)
        page.click("#listen")
        page.wait_for_timeout(int(1000 * (seconds - 0.8)))  # the recording, then silence
        page.screenshot(path=str(tmp_path / "live.png"))
        page.click("#stop")
        page.wait_for_selector("#transcript[data-final='1']", state="attached", timeout=30000)
        shown = page.inner_text("#transcript")
        final = page.evaluate("window.voxjax.finalText")
        page.fill("#text", "Hello there.")
        page.click("#speak")
        page.wait_for_function("window.voxjax.receivedSamples > 0 && "
                               "window.voxjax.playedSamples >= window.voxjax.receivedSamples",
                               timeout=30000)
        received = page.evaluate("window.voxjax.receivedSamples")
        errors = page.evaluate("window.voxjax.errors")
        browser.close()
    assert errors == []
    heard_path = [p for p in server.recorded if p.endswith("_transcribe.wav")][0]
    heard = audio.load_audio(heard_path, 16000)
    assert _alignment_score(heard, source) > 0.8  # the server heard the recording itself
    expected = inference.Transcriber(tiny_streaming_workdir, stream=True)(heard_path)
    assert final == expected and shown.strip() == expected.strip()
    synthesized, _ = models.synthesizer.synthesize("Hello there.")
    assert received == synthesized.size
