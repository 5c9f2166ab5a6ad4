"""Stand-ins for the live server's models, for tests that need many sessions or hours of audio
in seconds: posteriors spelled from a script instead of a network (the host side, sessions
and decoders, is the real code), and a synthesizer whose chunks take a set time."""
import time
from types import SimpleNamespace

import numpy as np

from voxjax import decoding, text as textlib
from voxjax.streaming import TranscriberSession

SCRIPT = ("please remember to take the early ferry to the island because the children have "
          "been looking forward to it all week ")


class ScriptedTranscriber:
    """What :class:`voxjax.streaming.StreamingTranscriber` offers a session, with posteriors that
    spell ``script`` over and over: each character two frames, then two blank frames (20 ms
    frames: 12.5 characters a second, about speech rate). ``step_s``: seconds each step takes
    (sleeping, as a jitted step releases the GIL)."""

    def __init__(self, script: str = SCRIPT, rate: int = 1000, chunk_ms: int = 160,
                 settings: dict | None = None, prior=None, step_s: float = 0.0, noise: int = 0):
        self.tokenizer = textlib.CharTokenizer()
        self.settings, self.prior, self.step_s = settings or {"greedy": True}, prior, step_s
        self.mel_cfg = SimpleNamespace(sample_rate=rate)
        self.model = SimpleNamespace(vocab_size=self.tokenizer.vocab_size)
        self.params = None
        self.chunk_samples = rate * chunk_ms // 1000
        self.frame_samples = rate // 50
        index = {c: i for i, c in enumerate(self.tokenizer.symbols)}
        ids = [i for c in script for i in (index[c],) * 2 + (0, 0)]
        rng = np.random.default_rng(noise)
        logits = np.full((len(ids), self.tokenizer.vocab_size), -8.0)
        logits[np.arange(len(ids)), ids] = 0.0
        if noise:  # rival labels close behind: the beams disagree for a while
            logits += rng.normal(0, 2.0, logits.shape)
        self.table = logits - np.log(np.exp(logits).sum(-1, keepdims=True))

    def init_state(self, params, batch: int):
        return 0  # the next frame of the script

    def frames(self, start: int, count: int) -> np.ndarray:
        """Posterior rows ``start .. start + count`` of the endless script."""
        return self.table[np.arange(start, start + count) % len(self.table)]

    def step(self, params, state, chunk):
        if self.step_s:
            time.sleep(self.step_s)
        count = chunk.shape[1] // self.frame_samples
        return state + count, self.frames(state, count)[None]

    def valid_frames(self, num_samples: int) -> int:
        return num_samples // self.frame_samples

    def decoder(self):
        return decoding.make_decoder(self.settings, self.prior)

    def session(self, **kwargs) -> TranscriberSession:
        return TranscriberSession(self, **kwargs)


class SlowSynthesizer:
    """A synthesizer whose every chunk takes ``chunk_s`` seconds (sleeping): bulk work that
    holds a thread as long as a real chunk of a big model would."""

    def __init__(self, rate: int = 1000, chunk_s: float = 0.2, chunks: int = 20):
        self.sample_rate, self.chunk_s, self.chunks = rate, chunk_s, chunks
        self.task = SimpleNamespace(speakers=["a"], speaker_id=lambda speaker: 0)

    def stream(self, text: str, speaker=None):
        for _ in range(self.chunks):
            time.sleep(self.chunk_s)
            yield np.zeros(self.sample_rate // 10, np.float32)
