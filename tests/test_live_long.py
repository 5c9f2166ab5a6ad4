"""Long live sessions (issue 32): an hour of talk in bounded memory and bounded messages. The
transcript leaves the session as it settles (``final`` pieces), so a one-hour session holds
and sends no more at its end than at its start, and the pieces still join up to the text the
whole signal decodes to. Posteriors come from ``live_fakes`` (an hour in seconds); sessions,
decoders and the server are the real code."""
import asyncio
import json
import os
import sys
import tracemalloc

import numpy as np
import soundfile as sf
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from voxjax import decoding, live, streaming
from voxjax.models.text_prior import CharNGramPrior

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_fakes import SCRIPT, ScriptedTranscriber  # noqa: E402

BEAM = {"greedy": False, "beam_size": 8, "prior_weight": 0.8, "length_bonus": 2.0}


def prior():
    return CharNGramPrior(order=4).fit([SCRIPT, "the children are on the island",
                                        "please take the ferry"], normalized=True)


def test_an_hour_long_session_runs_in_flat_memory_and_message_sizes(tmp_path):
    """One hour of 2 s frames (the largest the protocol takes) into a recording transcriber,
    as fast as the server answers. Traced Python memory (numpy included) and the bytes of the
    largest message in the last ten minutes are no more than in the first ten."""
    rate, minutes = 1000, 60
    transcriber = ScriptedTranscriber(rate=rate, chunk_ms=2000)
    server = live.LiveServer(live.LiveModels(transcriber=transcriber), record_dir=str(tmp_path))
    server.ready = True
    frame = (np.arange(2 * rate) % 200 - 100).astype("<i2").tobytes()  # 2 s
    per_minute = 30

    async def scenario():
        async with TestClient(TestServer(server.app)) as client:
            ws = await client.ws_connect("/ws")
            await ws.send_json({"type": "start", "mode": "transcribe", "sample_rate": rate})
            await ws.receive()
            largest, memory, texts = [], [], []
            for minute in range(minutes):
                if minute == 10:
                    tracemalloc.start()
                if minute >= 10:
                    memory.append(tracemalloc.get_traced_memory()[0])
                largest.append(0)
                for _ in range(per_minute):
                    await ws.send_bytes(frame)
                    while True:
                        msg = await ws.receive()
                        assert msg.type == WSMsgType.TEXT, msg
                        largest[-1] = max(largest[-1], len(msg.data))
                        message = json.loads(msg.data)
                        if message["type"] == "final":
                            texts.append(message["text"])
                        if message["type"] == "timing":
                            break
            tracemalloc.stop()
            await ws.send_json({"type": "stop"})
            while (message := json.loads((await ws.receive()).data))["type"] != "end":
                texts.append(message["text"])
            await ws.close()
            return largest, memory, texts

    largest, memory, texts = asyncio.run(scenario())
    assert max(largest[-10:]) <= max(largest[:10]) < 400, largest
    growth = max(memory) - memory[0]
    assert growth < 256 * 1024, [m - memory[0] for m in memory]  # 50 minutes: < 256 KiB
    frames = minutes * per_minute * 2 * rate // transcriber.frame_samples
    expected = transcriber.tokenizer.decode(decoding.ctc_greedy(transcriber.frames(0, frames)))
    assert "".join(texts) == expected and len(expected) > 40_000
    recording, = server.recorded
    assert sf.info(recording).frames == minutes * 60 * rate


def test_settled_pieces_of_a_beam_search_join_up_to_the_offline_text():
    """Beam search with a text prior over noisy posteriors, where rival beams tie for hundreds
    of characters: settling after every chunk keeps the beams under the session's limit
    (they commit to the best beam past it, which here is the one the offline search ends
    with), and the pieces join up to decoding all frames at once."""
    transcriber = ScriptedTranscriber(settings=BEAM, prior=prior(), noise=3, chunk_ms=160)
    frames = 6000  # two minutes
    offline = transcriber.tokenizer.decode(
        decoding.decode(transcriber.frames(0, frames), None, BEAM, transcriber.prior))
    session = transcriber.session(keep_log_probs=False)
    chunk = np.zeros(transcriber.chunk_samples, np.float32)
    pieces, longest = [], 0
    for _ in range(frames * transcriber.frame_samples // len(chunk)):
        session.feed(chunk)
        pieces.append(session.settle())
        longest = max(longest, *map(len, session.decoder.beams))
    session.finish()
    pieces.append(session.settle())
    assert session.text == "" and session.log_probs.shape[0] == 0
    assert "".join(pieces) == offline and len(offline) > 1000
    assert longest <= streaming.MAX_UNSETTLED_CHARS + 10  # of a text of 1,500 characters


def test_settling_is_at_word_ends_unless_a_word_never_ends():
    session = ScriptedTranscriber(script="ab cd ").session()
    session.feed(np.zeros(16 * 20, np.float32))  # 16 frames: "ab cd " has 24
    assert session.text == "ab c" and session.settle() == "ab " and session.text == "c"
    session.feed(np.zeros(8 * 20, np.float32))
    assert session.settle() == "cd " and session.text == ""
    endless = ScriptedTranscriber(script="abcdefghij").session()
    endless.feed(np.zeros(4 * 10 * 20, np.float32))
    assert endless.settle(limit=5) == "abcdefghij" and endless.text == ""
