"""The live server over a real WebSocket on loopback (aiohttp's client): transcripts equal the
CLI's streaming transcript, audio frames join up to the offline synthesis and conversion, bad
input closes only the offending client with one error, and limits hold."""
import asyncio
import json

import numpy as np
import pytest
import soundfile as sf
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from voxjax import cli, inference, live


@pytest.fixture(scope="module")
def models(tiny_streaming_workdir, tiny_tts_workdir, tiny_decoder_workdir, tiny_vc_workdir):
    loaded = live.LiveModels.load(tiny_streaming_workdir, tiny_tts_workdir, tiny_decoder_workdir,
                                  tiny_vc_workdir)
    loaded.warm_up()
    return loaded


def run(models, scenario, **limits):
    """Runs ``scenario(client, server)`` against a fresh server on a loopback port."""
    server = live.LiveServer(models, live.ServerLimits(**limits))
    server.ready = True  # the models of the fixture are warm

    async def main():
        async with TestClient(TestServer(server.app)) as client:
            result = await scenario(client, server)
            for _ in range(50):  # the server's handlers finish just after the sockets close
                if server.sessions == 0:
                    break
                await asyncio.sleep(0.02)
            return result, server.sessions
    return asyncio.run(main())


async def exchange(ws, frames=(), messages=(), stop=True):
    """Sends binary ``frames`` then JSON ``messages`` (and a stop); returns everything received
    until the server ends the session or closes."""
    for frame in frames:
        await ws.send_bytes(frame)
    for message in messages:
        await ws.send_json(message)
    if stop:
        await ws.send_json({"type": "stop"})
    received = []
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            received.append(msg.data)
        elif msg.type == WSMsgType.TEXT:
            received.append(json.loads(msg.data))
            if received[-1]["type"] in ("end", "error"):
                break
    await ws.close()
    return received


def pcm_frames(path, chunk):
    samples, _ = sf.read(path, dtype="int16")  # the file's own 16-bit samples, as a mic sends
    return [samples[i:i + chunk].astype("<i2").tobytes() for i in range(0, len(samples), chunk)]


def test_transcript_equals_the_streaming_cli(models, tiny_streaming_workdir, tiny_corpus):
    path = inference.load_workdir(tiny_streaming_workdir)[1].utterances("test")[0].path
    expected = inference.Transcriber(tiny_streaming_workdir, stream=True)(path)

    async def scenario(client, server):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "start", "mode": "transcribe", "sample_rate": 16000})
        ready = json.loads((await ws.receive()).data)
        health = await (await client.get("/healthz")).json()  # while the session is open
        got = await exchange(ws, pcm_frames(path, 640))  # 40 ms frames
        return ready, got, health

    (ready, got, health), sessions = run(models, scenario)
    assert ready["type"] == "ready" and ready["mode"] == "transcribe"
    finals = [m["text"] for m in got if isinstance(m, dict) and m["type"] == "final"]
    assert "".join(finals) == expected  # the pieces, as they settled, make up the transcript
    assert got[-2]["type"] == "final" and got[-1] == {"type": "end"}
    timings = [m for m in got if isinstance(m, dict) and m["type"] == "timing"]
    assert timings and all(t["compute_ms"] > 0 and t["audio_ms"] > 0 for t in timings)
    assert health["ready"] and health["sessions"] == 1 and "transcribe" in health["modes"]
    assert sessions == 0


def test_spoken_audio_joins_up_to_the_offline_synthesis(models):
    sentence = "The quick brown fox."
    offline, _ = models.synthesizer.synthesize(sentence)

    async def scenario(client, server):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "start", "mode": "speak"})
        await ws.receive()
        return await exchange(ws, messages=[{"type": "speak", "text": sentence}], stop=False)

    got, sessions = run(models, scenario)
    audio = np.concatenate([np.frombuffer(m, "<i2") for m in got if isinstance(m, bytes)])
    assert len([m for m in got if isinstance(m, bytes)]) >= 2  # streamed, not one block
    np.testing.assert_allclose(audio / 32767, np.clip(offline, -1, 1), atol=3e-4)
    first = [m["first_audio_ms"] for m in got if isinstance(m, dict) and "first_audio_ms" in m]
    assert len(first) == 1 and first[0] > 0 and got[-1] == {"type": "end"}
    assert sessions == 0


def test_converted_audio_joins_up_to_the_offline_conversion(models, tiny_vc_workdir):
    task = models.converter.task
    path = task.utterances("test")[0].path
    wave, _ = sf.read(path, dtype="float32")
    offline = models.converter.convert(wave, 16000, task.speakers[1])

    async def scenario(client, server):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "start", "mode": "convert", "speaker": task.speakers[1]})
        await ws.receive()
        return await exchange(ws, pcm_frames(path, 1000))  # blocks unaligned with the chunks

    got, sessions = run(models, scenario)
    audio = np.concatenate([np.frombuffer(m, "<i2") for m in got if isinstance(m, bytes)])
    assert audio.size == wave.size
    np.testing.assert_allclose(audio / 32767, np.clip(offline, -1, 1), atol=3e-4)
    assert sessions == 0


BAD_INPUTS = {
    "malformed JSON": ([("text", "{not json")], "not valid JSON"),
    "unknown mode": ([("json", {"type": "start", "mode": "sing"})], "unknown mode 'sing'"),
    "wrong sample rate": ([("json", {"type": "start", "mode": "transcribe",
                                     "sample_rate": 44100})], "not the models' 16000 Hz"),
    "frames before start": ([("bytes", b"\0\0" * 64)], "audio before the start message"),
    "odd-length frame": ([("start", None), ("bytes", b"\0" * 641)], "not whole s16 samples"),
    "oversized frame": ([("start", None), ("bytes", b"\0\0" * 40000)], "over the 64000-byte"),
    "NaN samples": ([("json", {"type": "start", "mode": "transcribe", "format": "f32"}),
                     ("bytes", np.full(64, np.nan, "<f4").tobytes())], "NaN"),
    "not an object": ([("text", "[1, 2]")], "JSON object with a 'type'"),
    "unknown format": ([("json", {"type": "start", "mode": "transcribe", "format": "u8"})],
                       "unknown format 'u8'"),
    "unknown speaker": ([("json", {"type": "start", "mode": "convert", "speaker": "nobody"})],
                        "unknown speaker 'nobody'"),
    "second start": ([("start", None), ("json", {"type": "start", "mode": "transcribe"})],
                     "already started a session"),
    "audio after stop": ([("start", None), ("json", {"type": "stop"}), ("bytes", b"\0\0" * 64)],
                         "audio after the stop message"),
    "second stop": ([("start", None), ("json", {"type": "stop"}), ("json", {"type": "stop"})],
                    "a second stop message"),
    "unknown message": ([("start", None), ("json", {"type": "dance"})], "unknown message type"),
    "text to a transcriber": ([("start", None), ("json", {"type": "speak", "text": "hi"})],
                              "need a speak session"),
    "empty text": ([("json", {"type": "start", "mode": "speak"}),
                    ("json", {"type": "speak", "text": "  "})], "non-empty 'text'"),
}


def test_bad_input_closes_only_that_client_with_one_error(models):
    good_frames = [np.zeros(640, "<i2").tobytes()] * 5

    async def send(ws, kind, payload):
        if kind == "start":
            await ws.send_json({"type": "start", "mode": "transcribe"})
            assert json.loads((await ws.receive()).data)["type"] == "ready"
        elif kind == "json":
            await ws.send_json(payload)
        elif kind == "text":
            await ws.send_str(payload)
        else:
            await ws.send_bytes(payload)

    async def scenario(client, server):
        good = await client.ws_connect("/ws")  # a well-behaved session alive throughout
        await good.send_json({"type": "start", "mode": "transcribe"})
        await good.receive()
        results = {}
        for name, (steps, _) in BAD_INPUTS.items():
            ws = await client.ws_connect("/ws")
            for kind, payload in steps:
                await send(ws, kind, payload)
            messages = []
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    messages.append(json.loads(msg.data))
            results[name] = (messages, ws.close_code)
            for frame in good_frames:  # the good session still answers
                await good.send_bytes(frame)
                assert json.loads((await good.receive()).data)["type"] in ("final", "partial",
                                                                           "timing")
        abrupt = await client.ws_connect("/ws")  # starts, then vanishes mid-stream
        await abrupt.send_json({"type": "start", "mode": "convert"})
        await abrupt.receive()
        await abrupt.send_bytes(good_frames[0])
        abrupt._conn.transport.abort()  # no close frame: the connection just drops
        await asyncio.sleep(0.2)
        final = await exchange(good, good_frames)
        return results, final

    (results, final), sessions = run(models, scenario)
    for name, (_, words) in BAD_INPUTS.items():
        messages, code = results[name]
        errors = [m for m in messages if m["type"] == "error"]
        assert len(errors) == 1 and messages[-1] is errors[0], (name, messages)
        normal = ("ready", "partial", "timing", "final", "end")  # replies before the mistake
        assert all(m["type"] in normal for m in messages[:-1]), (name, messages)
        assert words in errors[0]["message"], (name, errors[0]["message"])
        assert code is not None and code != 1000, (name, code)
    assert final[-1] == {"type": "end"} and any(m.get("type") == "final" for m in final
                                                if isinstance(m, dict))
    assert sessions == 0  # nothing leaks, the aborted session included


def test_limits_sessions_origin_and_loopback(models):
    async def scenario(client, server):
        first = await client.ws_connect("/ws")
        await first.send_json({"type": "start", "mode": "transcribe"})
        await first.receive()
        second = await client.ws_connect("/ws")
        refused = json.loads((await second.receive()).data)
        await second.receive()  # the close
        foreign = await client.get("/ws", headers={"Origin": "http://evil.example",
                                                   "Connection": "Upgrade", "Upgrade": "websocket",
                                                   "Sec-WebSocket-Version": "13",
                                                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        page = await client.get("/")
        script = await client.get("/static/app.js")
        await first.close()
        return refused, second.close_code, foreign.status, page.status, await script.text()

    (refused, code, foreign, page, script), sessions = run(models, scenario, max_sessions=1)
    assert refused["type"] == "error" and "server is full (1 sessions)" in refused["message"]
    assert code == 1013 and foreign == 403 and page == 200 and "WebSocket" in script
    assert sessions == 0
    args = cli.build_parser().parse_args(["serve", "--stt", "x"])
    assert args.host == "127.0.0.1"


def test_serve_refuses_bad_workdirs_in_one_line(capsys, tmp_path, tiny_tts_workdir, monkeypatch):
    from voxjax import registry
    monkeypatch.setattr(registry, "REGISTRY_DIR", str(tmp_path / "no-models"))
    cases = ((["serve"], "no published models"),
             (["serve", "--tts", tiny_tts_workdir], "need --decoder"),
             (["serve", "--stt", str(tmp_path)], "no checkpoint"))
    for argv, words in cases:
        assert cli.main(argv) == 2
        err = [line for line in capsys.readouterr()[1].splitlines()
               if line.startswith("voxjax: error:")]
        assert len(err) == 1 and words in err[0], err


def test_a_mode_without_its_model_is_refused(models):
    only_stt = live.LiveModels(transcriber=models.transcriber)

    async def scenario(client, server):
        health = await (await client.get("/healthz")).json()
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "start", "mode": "convert"})
        return health, await exchange(ws, stop=False)

    (health, got), sessions = run(only_stt, scenario)
    assert health["modes"] == ["transcribe"] and health["speakers"] == []
    assert got == [{"type": "error", "message": "this server was started without a model for "
                                               "'convert' (it serves transcribe)"}]
    assert sessions == 0


def test_a_failing_model_ends_only_its_session_with_an_internal_error(models, caplog):
    class BrokenSession:
        def feed(self, samples):
            raise RuntimeError("model exploded")

    class BrokenTranscriber:
        mel_cfg = models.transcriber.mel_cfg

        def session(self, **options):
            return BrokenSession()

    async def scenario(client, server):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "start", "mode": "transcribe"})
        await ws.receive()
        got = await exchange(ws, [np.zeros(640, "<i2").tobytes()], stop=False)
        health = await (await client.get("/healthz")).json()  # the server still answers
        return got, ws.close_code, health

    (got, code, health), sessions = run(live.LiveModels(transcriber=BrokenTranscriber()),
                                        scenario)
    assert got == [{"type": "error", "message": "internal server error (logged)"}]
    assert code == 1011 and health["ready"] and sessions == 0
    assert "model exploded" in caplog.text  # the traceback went to the log
