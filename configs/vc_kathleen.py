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
Result (measured 2026-12-06, 2-core x86_64 CPU, nothing else running), after
          stt_minilibri_streaming (1,275 s) and decoder_kathleen (827 s): the train command took
          766 s (3,000 steps, valid mel L1 0.757). 25 `dev` utterances of the 4 unseen Mini
          LibriSpeech readers, converted into her voice (the eval command, 239 s): pocketsphinx
          CER 39.8% against 16.4% on the sources, ratio 2.43 (copy synthesis by her decoder of
          the sources' own log-mels: 18.5%, ratio 1.13). The speaker model of
          configs/speaker_real.py names her in 25 of 25 conversions and in none of the 25
          sources (her own held-out recordings: 25 of 25); cosine to her class vector 0.66.
          At 1,000 steps (295 s, valid L1 0.819): CER 47.5%, ratio 2.89, named 25 of 25.
          The content model reads those readers at 48.5% greedy CER, and the words it misses
          stay missed.
          The figures above are for the middle layer, unwarped (``--config.vc.content_layer=-2
          --config.vc.content_warp=0``). 2026-12-07, the same commands as they are now (the
          first RNN layer, content read from a warped log-mel in training, both from
          configs/vc_synth.py): 1,107 s, valid L1 0.724, ratio 2.35, named 25 of 25. The first
          layer unwarped (``--config.vc.content_warp=0``): ratio 2.07, named 21 of 25 (830 s);
          that with ``--config.vc.content_workdir=runs/stt_ml_stream_ft`` (configs/
          stt_minilibri_streaming_finetune.py): ratio 1.92, named 23 of 25 (930 s).
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
