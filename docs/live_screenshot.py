"""Screenshot of the live page mid-transcription (docs/images/live_page.png), the way
tests/test_live_browser.py drives it: Debian's headless Chromium through Playwright, a fake
microphone playing a recording, a server on a loopback port.

    python docs/live_screenshot.py --stt runs/stt_synth_streaming SPEECH.wav
        [--at 0.7] [--out docs/images/live_page.png]

``--at``: when to take the picture, as a fraction of the recording.
"""
import argparse
import shutil
import tempfile

import numpy as np

from voxjax import audio, live


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stt", required=True, help="causal STT workdir")
    p.add_argument("--at", type=float, default=0.7)
    p.add_argument("--out", default="docs/images/live_page.png")
    p.add_argument("wav")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    models = live.LiveModels.load(args.stt)
    server = live.LiveServer(models)
    server.start_up()
    wave = audio.load_audio(args.wav, models.sample_rate)
    with tempfile.NamedTemporaryFile(suffix=".wav") as mic:
        audio.save_audio(mic.name, np.concatenate([wave, np.zeros(len(wave), np.float32)]),
                         models.sample_rate)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        with live.BackgroundServer(server) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic.name}"])
            page = browser.new_page(viewport={"width": 760, "height": 560})
            page.goto(url)
            page.wait_for_function("document.getElementById('status').textContent"
                                   ".startsWith('ready')")
            page.click("#listen")
            page.wait_for_timeout(int(1000 * args.at * len(wave) / models.sample_rate))
            page.screenshot(path=args.out)
            print(f"wrote {args.out}; transcript so far: {page.inner_text('#transcript')!r}")
            browser.close()


if __name__ == "__main__":
    main()
