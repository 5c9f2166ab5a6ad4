"""Live server: talk to the streaming models from a browser over one WebSocket per session.

    voxjax serve --stt W [--tts W --decoder W] [--vc W --speaker S] [--host 127.0.0.1] [--port 8000]

Built on aiohttp: one small, well-kept library is the HTTP server, the WebSocket server and
(for the tests and ``benchmarks/live.py``) the client, with no ASGI stack between. The models
load and compile once (:meth:`LiveModels.warm_up`) before the port opens; ``/healthz`` then
says ready. ``/`` serves the page (``voxjax/live_page/``, plain HTML + JS, no CDN), ``/ws`` the
protocol of ``docs/live.md``:

  client -> ``{"type": "start", "mode": "transcribe" | "speak" | "convert", "sample_rate": R,
            "format": "s16" | "f32", "speaker": S}``, then binary frames of mono PCM at R
            (transcribe, convert) or ``{"type": "speak", "text": T}`` messages (speak), and
            ``{"type": "stop"}`` to end the input
  server -> ``{"type": "ready", ...}``; ``{"type": "partial" | "final", "text": T}``; binary
            frames of 16-bit PCM (synthesised or converted speech); ``{"type": "timing",
            "compute_ms": .., "audio_ms": ..}`` per chunk and ``first_audio_ms`` per sentence;
            ``{"type": "end"}`` after a stop or a sentence; ``{"type": "error", "message": M}``

Every session owns its streaming state (``TranscriberSession``, ``ConverterSession``, a
synthesis generator) and drops it when its socket closes. Compute runs on a small thread pool
so that one session's step never blocks the event loop (the jitted steps release the GIL).
Any protocol violation sends that client one error message and closes it; other sessions go on.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import json
import logging
import os
import time

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web

from voxjax import text as textlib

log = logging.getLogger(__name__)

PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live_page")
MODES = ("transcribe", "speak", "convert")
FORMATS = {"s16": 2, "f32": 4}  # bytes per sample
MAX_FRAME_SECONDS = 2.0  # one binary frame holds at most this much audio
MAX_TEXT_CHARS = 2000  # one speak message
MAX_SESSIONS = 16
HARD_MESSAGE_BYTES = 1 << 20  # aiohttp's own limit: past it the socket closes with 1009


class ProtocolError(ValueError):
    """A client broke the protocol: the one-line message it gets before its socket closes."""


def to_pcm16(wave: np.ndarray) -> bytes:
    """Float samples in [-1, 1] -> little-endian 16-bit PCM bytes (clipped)."""
    return (np.clip(np.asarray(wave, np.float32), -1.0, 1.0) * 32767).astype("<i2").tobytes()


def from_pcm(data: bytes, fmt: str) -> np.ndarray:
    """Little-endian PCM bytes (``s16`` or ``f32``) -> float32 samples; ProtocolError for a
    size that is not whole samples or for non-finite values."""
    width = FORMATS[fmt]
    if len(data) % width:
        raise ProtocolError(f"binary frame of {len(data)} bytes is not whole {fmt} samples "
                            f"({width} bytes each)")
    if fmt == "s16":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    samples = np.frombuffer(data, "<f4").astype(np.float32)
    if not np.isfinite(samples).all():
        raise ProtocolError("audio frame contains NaN or infinite samples")
    return samples


@dataclasses.dataclass
class LiveModels:
    """The models one server holds: any of a streaming transcriber, synthesizer and converter
    (``voxjax.streaming``), loaded once and shared by every session (their steps are pure)."""

    transcriber: object | None = None
    synthesizer: object | None = None
    converter: object | None = None
    speaker: str | None = None  # the default target voice of convert and speak

    @classmethod
    def load(cls, stt: str | None = None, tts: str | None = None, decoder: str | None = None,
             vc: str | None = None, speaker: str | None = None, chunk_ms: int | None = None
             ) -> "LiveModels":
        """Loads the workdirs (ValueError/FileNotFoundError, one line, for bad ones)."""
        from voxjax import inference
        if not (stt or tts or vc):
            raise ValueError("give at least one model: --stt, --tts (with --decoder) or --vc "
                             "(with --decoder)")
        if (tts or vc) and not decoder:
            raise ValueError("--tts and --vc need --decoder (the conv decoder workdir)")
        models = cls(speaker=speaker)
        if stt:
            transcriber = inference.Transcriber(stt, stream=True, chunk_ms=chunk_ms)
            if transcriber.streamer is None:
                raise ValueError(f"{stt} holds a bidirectional STT model: live transcription "
                                 "needs a causal one (model.streaming=True)")
            models.transcriber = transcriber.streamer
        if tts:
            models.synthesizer = inference.load_synthesizer(tts, decoder)
        if vc:
            models.converter = inference.load_converter(vc, decoder, chunk_ms)
            models.converter.task.target_vector(speaker)  # an unknown --speaker fails now
        return models

    @property
    def modes(self) -> list[str]:
        """The protocol modes these models serve."""
        return [m for m, model in zip(MODES, (self.transcriber, self.synthesizer, self.converter))
                if model is not None]

    @property
    def sample_rate(self) -> int:
        """The one sample rate of every model here (audio in and out)."""
        rates = {m.mel_cfg.sample_rate for m in (self.transcriber, self.converter) if m}
        if self.synthesizer is not None:
            rates.add(self.synthesizer.sample_rate)
        if len(rates) != 1:
            raise ValueError(f"the models run at different sample rates: {sorted(rates)}")
        return rates.pop()

    def speakers(self) -> list[str]:
        """Target voices the page can offer (the converter's, else the synthesizer's)."""
        for model in (self.converter, self.synthesizer):
            if model is not None:
                return list(model.task.speakers)
        return []

    def warm_up(self) -> None:
        """Compiles every step a session will run, so no session pays for a compile."""
        if self.transcriber is not None:
            session = self.transcriber.session()
            session.feed(np.zeros(self.transcriber.chunk_samples, np.float32))
            session.finish()
        if self.converter is not None:
            session = self.converter.session(self.speaker)
            session.feed(np.zeros(self.converter.chunk_samples, np.float32))
            session.finish()
        if self.synthesizer is not None:
            list(self.synthesizer.stream("Hello there, this is a warm up.", self.speaker))


class Session:
    """One connection's streaming state after its ``start`` message; the methods return the
    messages to send (dicts as JSON, bytes as binary frames). Runs on the compute pool."""

    def __init__(self, models: LiveModels, start: dict):
        mode = start.get("mode")
        if mode not in MODES:
            raise ProtocolError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        if mode not in models.modes:
            raise ProtocolError(f"this server was started without a model for {mode!r} "
                                f"(it serves {', '.join(models.modes)})")
        rate = start.get("sample_rate", models.sample_rate)
        if rate != models.sample_rate:
            raise ProtocolError(f"sample_rate {rate!r} is not the models' {models.sample_rate} Hz: "
                                "resample in the client")
        self.format = start.get("format", "s16")
        if self.format not in FORMATS:
            raise ProtocolError(f"unknown format {self.format!r}: expected s16 or f32")
        self.mode, self.models, self.rate = mode, models, rate
        self.max_frame_bytes = int(MAX_FRAME_SECONDS * rate) * FORMATS[self.format]
        speaker = start.get("speaker") or models.speaker
        self.speaker = speaker
        self._last_text = ""
        self.stopped = False  # transcribe and convert take no audio after their stop
        self.received: list[np.ndarray] = []  # the input audio, kept when the server records
        self.keep_input = False
        try:
            if mode == "transcribe":
                self.stream = models.transcriber.session()
            elif mode == "convert":
                self.stream = models.converter.session(speaker)
            elif speaker is not None:
                models.synthesizer.task.speaker_id(speaker)  # unknown voices fail at start
        except ValueError as e:
            raise ProtocolError(str(e)) from None

    def ready(self) -> dict:
        """The ``ready`` message: what the session will accept and send."""
        return {"type": "ready", "mode": self.mode, "sample_rate": self.rate,
                "format": self.format, "speaker": self.speaker,
                "max_frame_bytes": self.max_frame_bytes}

    def audio(self, data: bytes) -> list:
        """One binary frame of input audio -> partial transcript or converted audio."""
        if self.mode == "speak":
            raise ProtocolError("speak sessions take text messages, not audio frames")
        if self.stopped:
            raise ProtocolError("audio after the stop message: start a new session")
        if len(data) > self.max_frame_bytes:
            raise ProtocolError(f"binary frame of {len(data)} bytes is over the "
                                f"{self.max_frame_bytes}-byte limit ({MAX_FRAME_SECONDS:g} s)")
        samples = from_pcm(data, self.format)
        if self.keep_input:
            self.received.append(samples)
        start = time.perf_counter()
        if self.mode == "transcribe":
            text = self.stream.feed(samples)
            out = []
            if text != self._last_text:
                self._last_text = text
                out.append({"type": "partial", "text": text})
        else:
            converted = self.stream.feed(samples)
            out = [to_pcm16(converted)] if converted.size else []
        timing = {"type": "timing", "compute_ms": 1e3 * (time.perf_counter() - start),
                  "audio_ms": 1e3 * samples.size / self.rate}
        return out + [timing]

    def stop(self) -> list:
        """The end of the input: the final transcript, or the rest of the converted audio."""
        if self.stopped:
            raise ProtocolError("a second stop message")
        self.stopped = self.mode != "speak"
        if self.mode == "transcribe":
            return [{"type": "final", "text": self.stream.finish()}, {"type": "end"}]
        if self.mode == "convert":
            rest = self.stream.finish()
            return ([to_pcm16(rest)] if rest.size else []) + [{"type": "end"}]
        return [{"type": "end"}]

    def speak(self, message: dict):
        """A ``speak`` message -> a generator of messages: audio chunks as they are made, the
        time to the first one, then ``end``. The text is checked before any audio."""
        if self.mode != "speak":
            raise ProtocolError(f"speak messages need a speak session, this one is {self.mode!r}")
        sentence = message.get("text")
        if not isinstance(sentence, str) or not sentence.strip():
            raise ProtocolError("speak message needs a non-empty 'text'")
        if len(sentence) > MAX_TEXT_CHARS:
            raise ProtocolError(f"text of {len(sentence)} characters is over the "
                                f"{MAX_TEXT_CHARS}-character limit")
        try:
            textlib.normalize(sentence)
        except textlib.TextError as e:
            raise ProtocolError(str(e)) from None
        return self._speak(sentence)

    def _speak(self, sentence: str):
        start, first = time.perf_counter(), None
        try:
            for chunk in self.models.synthesizer.stream(sentence, self.speaker):
                if first is None:
                    first = 1e3 * (time.perf_counter() - start)
                    yield {"type": "timing", "first_audio_ms": first}
                yield to_pcm16(chunk)
        except textlib.TextError as e:
            raise ProtocolError(str(e)) from None
        yield {"type": "timing", "compute_ms": 1e3 * (time.perf_counter() - start)}
        yield {"type": "end"}


@dataclasses.dataclass
class ServerLimits:
    """What one server allows (module constants by default)."""

    max_sessions: int = MAX_SESSIONS
    allowed_origins: tuple[str, ...] = ()  # besides the server's own address


_SENTINEL = object()


class LiveServer:
    """The aiohttp application around :class:`LiveModels`: page, ``/healthz`` and ``/ws``."""

    def __init__(self, models: LiveModels, limits: ServerLimits | None = None, workers: int = 2,
                 record_dir: str | None = None):
        """``record_dir``: write each session's input audio there as ``NNNN_<mode>.wav`` when
        it ends (what the server heard, e.g. to rerun ``voxjax transcribe`` on it)."""
        self.models, self.limits = models, limits or ServerLimits()
        self.record_dir, self.recorded = record_dir, []
        self.sessions = 0
        self.ready = False
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="voxjax-live")
        self.app = web.Application()
        self.app.add_routes([web.get("/", self._page), web.get("/healthz", self._health),
                             web.get("/ws", self._websocket),
                             web.static("/static", PAGE_DIR)])
        self.app.on_shutdown.append(self._close_pool)

    async def _close_pool(self, app) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(os.path.join(PAGE_DIR, "index.html"))

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ready": self.ready, "sessions": self.sessions,
                                  "modes": self.models.modes,
                                  "sample_rate": self.models.sample_rate,
                                  "speakers": self.models.speakers(),
                                  "speaker": self.models.speaker,
                                  "max_sessions": self.limits.max_sessions})

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser: no cross-site risk
            return True
        own = {f"{request.scheme}://{request.host}"}
        return origin in own or origin in self.limits.allowed_origins

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_allowed(request):
            return web.Response(status=403, text="origin not allowed\n")
        ws = web.WebSocketResponse(max_msg_size=HARD_MESSAGE_BYTES, heartbeat=30)
        await ws.prepare(request)
        if not self.ready or self.sessions >= self.limits.max_sessions:
            why = ("server is warming up" if not self.ready else
                   f"server is full ({self.limits.max_sessions} sessions): try again later")
            await ws.send_json({"type": "error", "message": why})
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
            return ws
        self.sessions += 1
        try:
            await self._serve(ws)
        except ProtocolError as e:
            if not ws.closed:
                await ws.send_json({"type": "error", "message": str(e)})
                await ws.close(code=WSCloseCode.POLICY_VIOLATION)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client went away: its session is dropped below
        except Exception:  # a bug, not the client's fault: say so, keep serving the others
            log.exception("live session failed")
            if not ws.closed:
                await ws.send_json({"type": "error", "message": "internal server error (logged)"})
                await ws.close(code=WSCloseCode.INTERNAL_ERROR)
        finally:
            self.sessions -= 1
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        opened: list[Session] = []  # the session, once a start message made one
        try:
            await self._receive(ws, opened)
        finally:
            if opened and self.record_dir:
                self._record(opened[0])

    async def _receive(self, ws: web.WebSocketResponse, opened: list) -> None:
        async for msg in ws:
            session = opened[0] if opened else None
            if msg.type == WSMsgType.BINARY:
                if session is None:
                    raise ProtocolError("audio before the start message")
                await self._send(ws, await self._run(session.audio, msg.data))
            elif msg.type == WSMsgType.TEXT:
                try:
                    message = json.loads(msg.data)
                except json.JSONDecodeError:
                    raise ProtocolError("message is not valid JSON") from None
                if not isinstance(message, dict) or "type" not in message:
                    raise ProtocolError("message must be a JSON object with a 'type'")
                kind = message["type"]
                if kind == "start":
                    if session is not None:
                        raise ProtocolError("this connection has already started a session")
                    session = await self._run(Session, self.models, message)
                    session.keep_input = bool(self.record_dir)
                    opened.append(session)
                    await ws.send_json(session.ready())
                elif session is None:
                    raise ProtocolError(f"{kind!r} message before the start message")
                elif kind == "stop":
                    await self._send(ws, await self._run(session.stop))
                elif kind == "speak":
                    chunks = session.speak(message)
                    while (item := await self._run(next, chunks, _SENTINEL)) is not _SENTINEL:
                        await self._send(ws, [item])
                else:
                    raise ProtocolError(f"unknown message type {kind!r}")
            elif msg.type == WSMsgType.ERROR:
                log.info("websocket closed with error: %s", ws.exception())

    def _record(self, session: Session) -> None:
        import soundfile as sf
        if not session.received:
            return
        os.makedirs(self.record_dir, exist_ok=True)
        path = os.path.join(self.record_dir, f"{len(self.recorded):04d}_{session.mode}.wav")
        # Float samples: exactly what the session decoded (16-bit would round some by 1 LSB).
        sf.write(path, np.concatenate(session.received), session.rate, subtype="FLOAT")
        self.recorded.append(path)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, messages: list) -> None:
        for item in messages:
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_json(item)

    def start_up(self) -> None:
        """Compiles every model (before the port opens), then marks the server ready."""
        self.models.warm_up()
        # The loaded models and compiled programs live as long as the server: move them out of
        # the collector's generations, so a full collection does not walk them mid-session.
        gc.collect()
        gc.freeze()
        self.ready = True


def serve(models: LiveModels, host: str = "127.0.0.1", port: int = 8000,
          limits: ServerLimits | None = None) -> None:
    """Warms the models up, then serves until interrupted (``voxjax serve``)."""
    server = LiveServer(models, limits)
    log.info("warming up %s", ", ".join(models.modes))
    server.start_up()
    print(f"voxjax live: http://{host}:{port}/ ({', '.join(models.modes)})", flush=True)
    web.run_app(server.app, host=host, port=port, print=None)


class BackgroundServer:
    """A :class:`LiveServer` on its own event loop thread (tests, ``benchmarks/live.py``):
    ``with BackgroundServer(server) as url: ...`` serves on a free loopback port."""

    def __init__(self, server: LiveServer, host: str = "127.0.0.1", port: int = 0):
        self.server, self.host, self.port = server, host, port
        self.loop = asyncio.new_event_loop()
        self._thread = None
        self._runner = None

    def __enter__(self) -> str:
        import threading
        started = threading.Event()

        async def start():
            self._runner = web.AppRunner(self.server.app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="voxjax-live-server", daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("live server did not start within 30 s")
        return f"http://{self.host}:{self.port}"

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
