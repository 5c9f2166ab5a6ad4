"""Any-to-one voice conversion into one human voice: Kathleen (CMU ARCTIC, CC0; the layout and
prompt-level splits of configs/tts_kathleen.py). configs/vc_synth.py's model, trained to
reconstruct her recordings from a real-speech causal STT model's posteriors, so that anyone's
speech read by that STT model comes out in her voice; pair it with configs/decoder_kathleen.py.

Command:  voxjax train --config configs/vc_kathleen.py --workdir runs/vc_kathleen
              --config.vc.content_workdir=runs/stt_minilibri_streaming
          voxjax convert --vc runs/vc_kathleen --decoder runs/decoder_kathleen --stream
              --out kathleen.wav someone.flac
Result:   not yet measured (not trained yet). Its content model, configs/stt_minilibri_streaming.py,
          reads held-out human speakers at 48.7% greedy CER (its result), so expect the
          converted words to be no clearer than that model's reading of them.
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
        config.train.steps = 1000
        config.train.eval_every = 500
    return config
