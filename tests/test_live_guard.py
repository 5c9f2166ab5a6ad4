"""The live server against hostile and careless clients (issue 32): a page on a rebound name,
idle sockets, one address holding many sockets, an oversized message, bulk synthesis beside
live audio, a cancelled handler, shutdown and SIGTERM with sessions open, recordings across a
restart and on a slow disk, and the flags of ``voxjax serve`` for the limits. The models are the
stand-ins of ``live_fakes`` (real sessions and decoders, scripted posteriors), so each test
takes seconds and needs no training. Clients that must come from different addresses bind
their own 127.x.y.z (all of 127/8 is this machine)."""
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import numpy as np
import soundfile as sf
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from voxjax import live

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_fakes import ScriptedTranscriber, SlowSynthesizer  # noqa: E402

RATE = 1000  # the stand-in models' sample rate
FRAME = np.zeros(RATE * 40 // 1000, "<i2").tobytes()  # 40 ms, as the page sends


def make_server(models=None, record_dir=None, **limits) -> live.LiveServer:
    server = live.LiveServer(models or live.LiveModels(transcriber=ScriptedTranscriber()),
                             live.ServerLimits(**limits), record_dir=record_dir)
    server.ready = True  # the stand-ins need no warm-up
    return server


def run(server, scenario):
    """``scenario(test_server)`` against ``server`` on a loopback port."""
    async def main():
        async with TestServer(server.app) as test_server:
            return await scenario(test_server)
    return asyncio.run(main())


def client(address: str = "127.0.0.1") -> aiohttp.ClientSession:
    """An HTTP client whose connections come from ``address``."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))


async def start(http, url, mode="transcribe"):
    """A socket that has sent its start message, and the server's first reply."""
    ws = await http.ws_connect(url)
    await ws.send_json({"type": "start", "mode": mode})
    return ws, json.loads((await ws.receive()).data)


async def until_closed(ws) -> list:
    """The JSON messages a socket receives until it closes."""
    messages = []
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            messages.append(json.loads(msg.data))
    return messages


async def until_type(ws, kind: str) -> list:
    """The JSON messages a socket receives up to and including the first of type ``kind``."""
    messages = []
    while not messages or messages[-1]["type"] != kind:
        msg = await ws.receive()
        if msg.type == WSMsgType.TEXT:
            messages.append(json.loads(msg.data))
        elif msg.type != WSMsgType.BINARY:
            raise AssertionError(f"socket closed before a {kind!r} message: {messages}")
    return messages


async def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return condition()


# ============================================================================ who may connect

async def handshake(http, url, host, origin):
    """What an upgrade with these headers gets: the HTTP status of a refusal, or the server's
    reply to a start message."""
    try:
        ws = await http.ws_connect(url, headers={"Host": host, "Origin": origin})
    except aiohttp.WSServerHandshakeError as e:
        return e.status
    await ws.send_json({"type": "start", "mode": "transcribe"})
    reply = json.loads((await ws.receive()).data)["type"]
    await ws.close()
    return reply


def test_a_page_on_a_rebound_name_is_refused():
    """DNS rebinding: evil.example resolves to 127.0.0.1, so its page sends a matching Host and
    Origin pair; only the names the server is reached at are served, page and socket."""
    server = make_server()

    async def scenario(test_server):
        port, url = test_server.port, test_server.make_url("/ws")
        async with client() as http:
            results = {name: await handshake(http, url, host, origin) for name, host, origin in (
                ("rebound", f"evil.example:{port}", f"http://evil.example:{port}"),
                ("own address", f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"),
                ("localhost", f"localhost:{port}", f"http://localhost:{port}"),
                ("own address, another port's page", f"127.0.0.1:{port}", "http://127.0.0.1:1"),
                ("sandboxed page", f"127.0.0.1:{port}", "null"))}
            for path in ("/", "/healthz", "/static/app.js"):
                response = await http.get(test_server.make_url(path),
                                          headers={"Host": f"evil.example:{port}"})
                results[path] = response.status
        return results

    assert run(server, scenario) == {
        "rebound": 403, "own address": "ready", "localhost": "ready",
        "own address, another port's page": 403, "sandboxed page": 403, "/": 403, "/healthz": 403,
        "/static/app.js": 403}


def test_allow_host_serves_a_name_behind_a_proxy():
    server = make_server(allowed_hosts=("voxjax.example",))

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        async with client() as http:
            return (await handshake(http, url, "voxjax.example", "https://voxjax.example"),
                    await handshake(http, url, "voxjax.example", "https://evil.example"),
                    await handshake(http, url, "other.example", "https://other.example"))

    assert run(server, scenario) == ("ready", 403, 403)


def test_idle_sockets_do_not_lock_out_a_real_client():
    """24 sockets that send nothing (4 from each of 6 addresses, the default cap per address)
    beside the default 16 sessions: a newcomer still gets ready within a second."""
    server = make_server()

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        idle = [client(f"127.0.1.{i}") for i in range(6)]
        sockets = [await http.ws_connect(url) for http in idle for _ in range(4)]
        async with client("127.0.2.1") as http:
            t0 = time.perf_counter()
            ws, reply = await start(http, url)
            waited = time.perf_counter() - t0
            await ws.close()
        for ws in sockets:
            await ws.close()
        for http in idle:
            await http.close()
        return reply, waited

    reply, waited = run(server, scenario)
    assert reply["type"] == "ready" and waited < 1.0, (reply, waited)


def test_silent_sockets_are_closed_at_the_start_and_idle_deadlines():
    server = make_server(start_timeout=0.3, idle_timeout=0.3)

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        async with client() as http:
            t0 = time.perf_counter()
            never_started = await http.ws_connect(url)
            first = await until_closed(never_started), never_started.close_code
            started, ready = await start(http, url)
            sessions_while_open = server.sessions
            second = await until_closed(started), started.close_code
            return first, ready, second, sessions_while_open, time.perf_counter() - t0

    first, ready, second, sessions_while_open, seconds = run(server, scenario)
    assert first == ([{"type": "error", "message": "no start message within 0.3 s: closing"}],
                     1008)
    assert ready["type"] == "ready" and sessions_while_open == 1
    assert second == ([{"type": "error", "message": "no message within 0.3 s: closing"}], 1008)
    assert seconds < 3.0 and server.sessions == 0


def test_one_address_cannot_take_more_than_its_share():
    server = make_server(max_per_address=2)

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        async with client("127.0.3.1") as greedy, client("127.0.3.2") as other:
            kept = [await greedy.ws_connect(url) for _ in range(2)]
            third = await greedy.ws_connect(url)
            refused = await until_closed(third), third.close_code
            ws, reply = await start(other, url)
            await ws.close()
            await kept[0].close()  # a closed socket frees its place
            for _ in range(50):  # once the server has seen the close
                again, again_reply = await start(greedy, url)
                if again_reply["type"] == "ready":
                    break
                await asyncio.sleep(0.02)
            for socket in (kept[1], again):
                await socket.close()
        return refused, reply, again_reply

    refused, reply, again_reply = run(server, scenario)
    assert refused == ([{"type": "error", "message": "too many connections from your address "
                                                     "(2): close one first"}], 1013)
    assert reply["type"] == "ready" and again_reply["type"] == "ready"


def test_an_oversized_message_closes_only_its_socket():
    server = make_server()

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        async with client("127.0.5.1") as big, client("127.0.5.2") as other:
            ws, _ = await start(big, url)
            await ws.send_bytes(b"\0" * (300 << 10))  # 300 KiB: no legal message is this big
            await until_closed(ws)
            good, reply = await start(other, url)
            await good.close()
        return ws.close_code, reply

    code, reply = run(server, scenario)
    assert code == 1009 and reply["type"] == "ready"


def test_serve_flags_reach_the_limits_and_bad_ones_are_one_line(monkeypatch, capsys):
    from voxjax import cli
    served = []
    monkeypatch.setattr(live.LiveModels, "load", lambda *args, **kwargs: "models")
    monkeypatch.setattr(live, "serve", lambda models, host, port, limits: served.append(limits))
    assert cli.main(["serve", "--stt", "w", "--max-per-address", "9", "--start-timeout", "2.5",
                     "--idle-timeout", "60", "--allow-host", "Voxjax.Example",
                     "--allow-origin", "https://voxjax.example"]) == 0
    assert served == [live.ServerLimits(max_per_address=9, start_timeout=2.5, idle_timeout=60,
                                        allowed_hosts=("voxjax.example",),
                                        allowed_origins=("https://voxjax.example",))]
    for flag, value, words in (("--max-per-address", "0", "max_per_address must be at least 1"),
                               ("--idle-timeout", "-1", "idle_timeout must be a positive")):
        assert cli.main(["serve", "--stt", "w", flag, value]) == 2
        err = [line for line in capsys.readouterr()[1].splitlines() if "voxjax" in line]
        assert len(err) == 1 and err[0].startswith("voxjax: error: ") and words in err[0], err


# ============================================================================ fair compute

def test_bulk_speech_does_not_delay_a_live_transcriber():
    """Two Speak clients whose every chunk holds a thread for 200 ms (a long text on a big
    model) beside a transcriber streaming 40 ms frames in real time: every frame is answered
    within 100 ms (the tiny scripted step takes well under 1 ms)."""
    models = live.LiveModels(transcriber=ScriptedTranscriber(),
                             synthesizer=SlowSynthesizer(chunk_s=0.2, chunks=30))
    server = make_server(models)

    async def scenario(test_server):
        url = test_server.make_url("/ws")
        async with client("127.0.4.1") as bulk, client("127.0.4.2") as mic:
            speakers = []
            for _ in range(2):
                ws, _ = await start(bulk, url, "speak")
                await ws.send_json({"type": "speak", "text": "A very long text. " * 50})
                speakers.append(ws)
            await asyncio.sleep(0.3)  # the synthesis is under way
            ws, _ = await start(mic, url)
            latencies = []
            for _ in range(40):
                t0 = time.perf_counter()
                await ws.send_bytes(FRAME)
                await until_type(ws, "timing")
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(max(0.0, 0.04 - latencies[-1]))
            for socket in (ws, *speakers):
                await socket.close()
        return latencies

    latencies = run(server, scenario)
    assert max(latencies) < 0.1, sorted(latencies)[-5:]


def test_speech_is_sent_no_faster_than_it_plays(monkeypatch):
    """Synthesis that takes no time, 3 s of audio: with a 1 s lead, the last chunk leaves
    after 2 s of wall time, not at once (the listener plays it in real time)."""
    monkeypatch.setattr(live, "SPEAK_LEAD_S", 1.0)
    models = live.LiveModels(synthesizer=SlowSynthesizer(chunk_s=0.0, chunks=30))
    server = make_server(models)

    async def scenario(test_server):
        async with client() as http:
            ws, _ = await start(http, test_server.make_url("/ws"), "speak")
            t0 = time.perf_counter()
            await ws.send_json({"type": "speak", "text": "Hello."})
            await until_type(ws, "end")
            await ws.close()
            return time.perf_counter() - t0

    assert 1.9 < run(server, scenario) < 4.0


def test_audio_faster_than_real_time_is_bulk_work():
    session = live.Session(live.LiveModels(transcriber=ScriptedTranscriber()),
                           {"type": "start", "mode": "transcribe"})
    second = len(FRAME) * 25  # bytes of one second of s16 audio
    assert session.realtime(second)  # a burst within REALTIME_BURST_S is still live
    assert session.realtime(second)
    assert not session.realtime(second)  # 3 s of audio in no time: a file, not a microphone


# ============================================================================ ending sessions

def test_a_cancelled_session_handler_ends_cancelled_and_frees_its_place():
    server = make_server()
    handlers = []

    @web.middleware
    async def keep_task(request, handler):  # the handler as a task the test can cancel
        handlers.append(asyncio.ensure_future(handler(request)))
        return await handlers[-1]

    server.app.middlewares.append(keep_task)

    async def scenario(test_server):
        async with client() as http:
            ws, reply = await start(http, test_server.make_url("/ws"))
            handlers[-1].cancel()
            await asyncio.wait([handlers[-1]], timeout=5)
            freed = await wait_for(lambda: server.sessions == 0)
            await ws.close()
            return reply, handlers[-1].cancelled(), freed

    reply, cancelled, freed = run(server, scenario)
    assert reply["type"] == "ready" and cancelled and freed


def test_shutdown_with_open_sessions_is_quick_and_keeps_the_recording(tmp_path):
    """What SIGTERM does to ``voxjax serve`` (aiohttp's runner clean-up) with a session open:
    the client hears 1001 (going away) at once and the recording is finished."""
    server = make_server(record_dir=str(tmp_path))
    background = live.BackgroundServer(server)
    url = background.__enter__()

    async def scenario():
        async with client() as http:
            ws, _ = await start(http, url + "/ws")
            for _ in range(5):
                await ws.send_bytes(FRAME)
                await until_type(ws, "timing")
            t0 = time.perf_counter()
            stopping = asyncio.get_running_loop().run_in_executor(None, background.__exit__,
                                                                  None, None, None)
            await until_closed(ws)
            await stopping
            return ws.close_code, time.perf_counter() - t0

    code, seconds = asyncio.run(scenario())
    assert code == 1001 and seconds < 5.0, (code, seconds)
    assert [sf.info(p).frames for p in server.recorded] == [5 * len(FRAME) // 2]


SERVE = """
import sys
sys.path.insert(0, {tests!r})
from live_fakes import ScriptedTranscriber
from voxjax import live
live.serve(live.LiveModels(transcriber=ScriptedTranscriber()), port={port})
"""


def test_sigterm_with_a_session_open_ends_serve_at_once():
    """``live.serve`` (what ``voxjax serve`` runs) in its own process, a session streaming:
    SIGTERM closes the session with 1001 and the process exits 0 within seconds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = SERVE.format(tests=os.path.dirname(os.path.abspath(__file__)), port=port)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        assert "voxjax live:" in process.stdout.readline()  # warm, about to listen

        async def scenario():
            async with client() as http:
                for _ in range(100):  # the port opens just after the line
                    try:
                        ws, reply = await start(http, f"http://127.0.0.1:{port}/ws")
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
                await ws.send_bytes(FRAME)
                await until_type(ws, "timing")
                t0 = time.perf_counter()
                process.send_signal(signal.SIGTERM)
                await until_closed(ws)
                return reply, ws.close_code, time.perf_counter() - t0

        reply, close_code, seconds = asyncio.run(scenario())
        exit_code = process.wait(10)
    finally:
        process.kill()
    assert reply["type"] == "ready" and close_code == 1001 and seconds < 5.0
    assert exit_code == 0


def visible(folder) -> set:
    return {n for n in os.listdir(folder) if not n.startswith(".")}


def test_recordings_survive_a_restart_and_appear_only_when_whole(tmp_path):
    def one_run(value):
        """A fresh server (a restart) recording one session of one constant frame."""
        server = make_server(record_dir=str(tmp_path))

        async def scenario(test_server):
            async with client() as http:
                ws, _ = await start(http, test_server.make_url("/ws"))
                await ws.send_bytes(np.full(40, value, "<i2").tobytes())
                await until_type(ws, "timing")
                while_open = visible(tmp_path)
                await ws.send_json({"type": "stop"})
                await until_type(ws, "end")
                await ws.close()
                assert await wait_for(lambda: server.recorded)
                return while_open
        return run(server, scenario)

    before = set()
    for value in (1000, 2000, 3000):  # three server runs, one session each
        assert one_run(value) == before  # nothing of the open session is visible
        before = visible(tmp_path)
    assert len(before) == 3 and set(os.listdir(tmp_path)) == before  # no temporary files left
    heard = sorted(round(sf.read(tmp_path / name, dtype="float32")[0][0] * 32768)
                   for name in before)
    assert heard == [1000, 2000, 3000]


def test_a_slow_disk_does_not_stall_the_server(tmp_path, monkeypatch):
    """Recording writes take 0.3 s each (a slow disk): the event loop, which serves every
    client, never stalls (a 5 ms ticker beside the session keeps ticking)."""
    write = sf.SoundFile.write

    def slow_write(self, data):
        time.sleep(0.3)
        return write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", slow_write)
    server = make_server(record_dir=str(tmp_path))

    async def scenario(test_server):
        gaps, talking = [], True

        async def tick():
            while talking:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                gaps.append(time.perf_counter() - t0)

        ticker = asyncio.create_task(tick())
        async with client() as http:
            ws, _ = await start(http, test_server.make_url("/ws"))
            for _ in range(3):
                await ws.send_bytes(FRAME)
            await ws.send_json({"type": "stop"})
            await until_type(ws, "end")
            await ws.close()
            assert await wait_for(lambda: server.recorded)
        talking = False
        await ticker
        return gaps

    gaps = run(server, scenario)
    assert len(gaps) > 10 and max(gaps) < 0.15, (len(gaps), max(gaps))
