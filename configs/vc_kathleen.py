"""Any-to-one voice conversion into one human voice: Kathleen (CMU ARCTIC, CC0; the layout and
prompt-level splits of configs/tts_kathleen.py). configs/vc_synth.py's model, trained to
reconstruct her recordings from a real-speech causal STT model's outputs, so that anyone's
speech read by that STT model comes out in her voice; pair it with configs/decoder_kathleen.py.

Command:  voxjax train --config configs/vc_kathleen.py --workdir runs/vc_kathleen
              --config.vc.content_workdir=runs/stt_minilibri_streaming
          voxjax convert --vc runs/vc_kathleen --decoder runs/decoder_kathleen --stream
              --out kathleen.wav someone.flac
          voxjax eval --workdir runs/vc_kathleen --decoder runs/decoder_kathleen
              --judge pocketsphinx --speaker-model runs/speaker_real --dataset librispeech
              --root ../shared/data/minilibrispeech --split dev --limit 25 --targets 1
Result:   25 Mini LibriSpeech ``dev`` utterances of 4 unseen readers in her voice: pocketsphinx
          CER ratio 2.35, named her in 25 of 25 (none of the sources), 3,000 steps in 1,107 s
          (2026-12-07, 2-core x86_64 CPU): docs/results/conversion.md, with the 1,000-step run
          (ratio 2.89 against 2.43 at 3,000 steps, 2026-12-06).
"""
import os

import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """vc_synth on the Kathleen recordings, content from the real-speech streaming STT."""
    config = config_lib.load("vc_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = os.path.join(config_lib.SHARED_DATA, "kathleen")
    config.data.heldout_prompts = 100
    config.vc.content_config = "stt_minilibri_streaming" + (":tiny" if arg == "tiny" else "")
    if arg != "tiny":
        config.vc.content_workdir = "runs/stt_minilibri_streaming"
        config.data.buckets = (208, 304, 400, 512, 704)  # takes of 0.8-6.5 s, whole 160 ms chunks
        config.train.steps = 3000  # 1,107 s here (see the docstring for 1,000 steps)
        config.train.eval_every = 1000
    return config
