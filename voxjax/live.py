"""Live server: talk to the streaming models from a browser over one WebSocket per session.

    voxjax serve --stt W [--tts W --decoder W] [--vc W --speaker S] [--host 127.0.0.1] [--port 8000]

Built on aiohttp: one small, well-kept library is the HTTP server, the WebSocket server and
(for the tests and ``benchmarks/live.py``) the client, with no ASGI stack between. The models
load and compile once (:meth:`LiveModels.warm_up`) before the port opens. ``/`` serves the page
(``voxjax/live_page/``, plain HTML + JS, no CDN), ``/healthz`` the state, ``/ws`` the protocol
and limits of ``docs/live.md`` (start, audio frames or speak texts, stop; ready, final and
partial text, audio frames, timing, end, error).

Every session owns its streaming state and drops it when its socket closes; what it holds does
not grow with its length (settled text is sent and forgotten, a recording goes to disk as it
arrives). Compute runs on thread pools, so no step blocks the event loop (the jitted steps
release the GIL): real-time audio on its own pool, synthesis and audio sent faster than real
time on one bulk thread. The server is meant for one person's browser: it answers only to the
names it is reached by, takes WebSockets only from its own page, and deadlines and caps per
address keep idle sockets from locking real users out (:class:`ServerLimits`). Any protocol
violation sends that client one error message and closes it; other sessions go on.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import gc
import ipaddress
import json
import logging
import os
import secrets
import time
import urllib.parse

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web

from voxjax import files, text as textlib

log = logging.getLogger(__name__)

PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live_page")
MODES = ("transcribe", "speak", "convert")
FORMATS = {"s16": 2, "f32": 4}  # bytes per sample
MAX_FRAME_SECONDS = 2.0  # one binary frame holds at most this much audio
MAX_TEXT_CHARS = 2000  # one speak message
# Past this the socket closes with 1009: room for the largest legal message (2 s of f32 audio
# at 32 kHz), not for a client's megabytes.
HARD_MESSAGE_BYTES = 1 << 18
MAX_SESSIONS = 16  # ServerLimits' defaults, one per flag of voxjax serve
MAX_PER_ADDRESS = 4
START_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 30.0
REALTIME_BURST_S = 2.0  # audio a session may run ahead of the wall clock and still be live
SPEAK_LEAD_S = 10.0  # synthesised audio a speak session may be ahead of real time
HEARTBEAT_S = 30.0  # pings find peers that vanished without closing
CLOSE_TIMEOUT_S = 2.0  # how long a closing handshake may take (shutdown closes every socket)
RECENT_RECORDINGS = 100  # paths kept in LiveServer.recorded


class ProtocolError(ValueError):
    """A client broke the protocol: the one-line message it gets before its socket closes."""

    code = WSCloseCode.POLICY_VIOLATION


class Refused(ProtocolError):
    """The server cannot take this client now (full, warming up): it may try again later."""

    code = WSCloseCode.TRY_AGAIN_LATER


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


class Recording:
    """A session's input audio, written to disk as it arrives (float samples: exactly what the
    session decoded) into a hidden temporary file that :meth:`close` renames to ``path``, so a
    reader never sees half a recording. The name (UTC start time, random tag, mode) is new for
    every session of every server run: a restarted server never overwrites an earlier one."""

    def __init__(self, folder: str, mode: str, rate: int):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.path = os.path.join(folder, f"{stamp}-{secrets.token_hex(4)}_{mode}.wav")
        self.rate = rate
        self._files = contextlib.ExitStack()
        self._sound = None

    def write(self, samples: np.ndarray) -> None:
        """Appends samples (opens the file on the first call)."""
        import soundfile as sf
        if self._sound is None:
            raw = self._files.enter_context(files.atomic_open(self.path, "wb"))
            self._sound = self._files.enter_context(
                sf.SoundFile(raw, "w", self.rate, 1, "FLOAT", format="WAV"))
        self._sound.write(samples)

    def close(self) -> str | None:
        """Finishes the file (header, fsync, rename); its path, or None when nothing came."""
        if self._sound is None:
            return None
        self._sound = None
        self._files.close()  # the header is written before the rename
        return self.path


class Session:
    """One connection's streaming state after its ``start`` message; the methods return the
    messages to send (dicts as JSON, bytes as binary frames). Runs on the compute pools."""

    def __init__(self, models: LiveModels, start: dict, record_dir: str | None = None):
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
        self._partial = ""  # the last partial sent
        self.stopped = False  # transcribe and convert take no audio after their stop
        self._clock = None  # (wall time of the first frame, audio seconds received since)
        self.heard_until = 0.0  # speak: when the listener will have played what was sent
        try:
            if mode == "transcribe":
                self.stream = models.transcriber.session(keep_log_probs=False)
            elif mode == "convert":
                self.stream = models.converter.session(speaker)
            elif speaker is not None:
                models.synthesizer.task.speaker_id(speaker)  # unknown voices fail at start
        except ValueError as e:
            raise ProtocolError(str(e)) from None
        self.recording = (Recording(record_dir, mode, rate)
                          if record_dir and mode != "speak" else None)

    def ready(self) -> dict:
        """The ``ready`` message: what the session will accept and send."""
        return {"type": "ready", "mode": self.mode, "sample_rate": self.rate,
                "format": self.format, "speaker": self.speaker,
                "max_frame_bytes": self.max_frame_bytes}

    def realtime(self, frame_bytes: int) -> bool:
        """Counts a frame of input; False once the input runs more than
        :data:`REALTIME_BURST_S` ahead of the wall clock (a file, not a microphone: bulk)."""
        now = time.monotonic()
        start, seconds = self._clock or (now, 0.0)
        seconds += frame_bytes / FORMATS[self.format] / self.rate
        self._clock = start, seconds
        return seconds <= now - start + REALTIME_BURST_S

    def audio(self, data: bytes) -> list:
        """One binary frame of input audio -> transcript messages or converted audio."""
        if self.mode == "speak":
            raise ProtocolError("speak sessions take text messages, not audio frames")
        if self.stopped:
            raise ProtocolError("audio after the stop message: start a new session")
        if len(data) > self.max_frame_bytes:
            raise ProtocolError(f"binary frame of {len(data)} bytes is over the "
                                f"{self.max_frame_bytes}-byte limit ({MAX_FRAME_SECONDS:g} s)")
        samples = from_pcm(data, self.format)
        if self.recording is not None:
            self.recording.write(samples)
        start = time.perf_counter()
        if self.mode == "transcribe":
            self.stream.feed(samples)
            out = self._transcript()
        else:
            converted = self.stream.feed(samples)
            out = [to_pcm16(converted)] if converted.size else []
        timing = {"type": "timing", "compute_ms": 1e3 * (time.perf_counter() - start),
                  "audio_ms": 1e3 * samples.size / self.rate}
        return out + [timing]

    def _transcript(self) -> list:
        # Settled text goes out once and leaves the session; only the unsettled rest is resent
        # as it changes, so no message grows with the length of the talk.
        out = []
        settled = self.stream.settle()
        if settled:
            out.append({"type": "final", "text": settled})
            self._partial = ""  # a final clears the client's partial
        partial = self.stream.text
        if partial != self._partial:
            self._partial = partial
            out.append({"type": "partial", "text": partial})
        return out

    def stop(self) -> list:
        """The end of the input: the last final text, or the rest of the converted audio."""
        if self.stopped:
            raise ProtocolError("a second stop message")
        self.stopped = self.mode != "speak"
        if self.mode == "transcribe":
            self.stream.finish()
            return [{"type": "final", "text": self.stream.settle()}, {"type": "end"}]
        if self.mode == "convert":
            rest = self.stream.finish()
            return ([to_pcm16(rest)] if rest.size else []) + [{"type": "end"}]
        return [{"type": "end"}]

    def close(self) -> str | None:
        """Ends the session: finishes its recording; the recording's path, if any."""
        return self.recording.close() if self.recording is not None else None

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
    """What one server allows; ``voxjax serve`` has a flag for each (ValueError, one line,
    for a limit below 1 or a timeout that is not positive)."""

    max_sessions: int = MAX_SESSIONS  # started sessions at once
    max_per_address: int = MAX_PER_ADDRESS  # open sockets per client address, started or not
    start_timeout: float = START_TIMEOUT_S  # from the socket opening to its start message
    idle_timeout: float = IDLE_TIMEOUT_S  # a session sending nothing while no work runs
    allowed_hosts: tuple[str, ...] = ()  # Host names besides the addresses the server is at
    allowed_origins: tuple[str, ...] = ()  # page origins besides the server's own

    def __post_init__(self):
        for name in ("max_sessions", "max_per_address"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("start_timeout", "idle_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds, "
                                 f"got {getattr(self, name)}")
        self.allowed_hosts = tuple(h.lower() for h in self.allowed_hosts)


_SENTINEL = object()


def _address(text: str):
    """An IP address (IPv4-mapped IPv6 as IPv4, zone dropped), or None for a name."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


class LiveServer:
    """The aiohttp application around :class:`LiveModels`: page, ``/healthz`` and ``/ws``."""

    def __init__(self, models: LiveModels, limits: ServerLimits | None = None, workers: int = 2,
                 record_dir: str | None = None):
        """``record_dir``: write each session's input audio there (:class:`Recording`: what
        the server heard, e.g. to rerun ``voxjax transcribe`` on it)."""
        self.models, self.limits = models, limits or ServerLimits()
        self.record_dir = record_dir
        self.recorded = collections.deque(maxlen=RECENT_RECORDINGS)  # the latest paths
        self.sessions = 0  # started sessions
        self.ready = False
        self._per_address: collections.Counter = collections.Counter()
        self._sockets: set[web.WebSocketResponse] = set()
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="voxjax-live")
        # One thread: synthesis and faster-than-real-time audio take turns, a chunk at a time.
        self.bulk = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="voxjax-bulk")
        self.app = web.Application(middlewares=[self._check_host])
        self.app.add_routes([web.get("/", self._page), web.get("/healthz", self._health),
                             web.get("/ws", self._websocket),
                             web.static("/static", PAGE_DIR)])
        self.app.on_shutdown.append(self._close_sockets)
        self.app.on_cleanup.append(self._close_pools)

    async def _close_sockets(self, app) -> None:
        # Sessions end through their normal path (recordings finished) before the pools go.
        await asyncio.gather(*[ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
                               for ws in list(self._sockets)], return_exceptions=True)

    async def _close_pools(self, app) -> None:
        for pool in (self.pool, self.bulk):  # each holds a chunk per session at most
            await asyncio.to_thread(pool.shutdown)

    # ------------------------------------------------------------------------- who may talk

    def host_allowed(self, request: web.Request) -> bool:
        """Whether the ``Host`` header names this server: the address the connection reached
        (``localhost`` too when that is a loopback address) or an ``allowed_hosts`` name. A
        page on a rebound name (evil.example -> 127.0.0.1) sends its own name and is refused."""
        name = urllib.parse.urlsplit("//" + request.headers.get("Host", "")).hostname
        if not name:
            return False
        if name in self.limits.allowed_hosts:
            return True
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        local = _address(str(sockname[0])) if sockname else None
        if local is None:
            return False
        return _address(name) == local or (name == "localhost" and local.is_loopback)

    def origin_allowed(self, request: web.Request) -> bool:
        """Whether a WebSocket may open: no ``Origin`` (not a browser), an ``allowed_origins``
        entry, or the origin of the page this server served under the (checked) ``Host``."""
        origin = request.headers.get("Origin")
        if origin is None or origin in self.limits.allowed_origins:
            return True
        parts = urllib.parse.urlsplit(origin)
        return (parts.scheme in ("http", "https")
                and parts.netloc.lower() == request.headers.get("Host", "").lower())

    @web.middleware
    async def _check_host(self, request: web.Request, handler):
        if not self.host_allowed(request):
            return web.Response(status=403, text="host not allowed: serve other names with "
                                                 "--allow-host\n")
        return await handler(request)

    def _refusal(self, address: str | None) -> str | None:
        if not self.ready:
            return "server is warming up"
        if self.sessions >= self.limits.max_sessions:
            return f"server is full ({self.limits.max_sessions} sessions): try again later"
        if self._per_address[address] >= self.limits.max_per_address:
            return (f"too many connections from your address "
                    f"({self.limits.max_per_address}): close one first")
        return None

    # ------------------------------------------------------------------------- routes

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(os.path.join(PAGE_DIR, "index.html"))

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ready": self.ready, "sessions": self.sessions,
                                  "modes": self.models.modes,
                                  "sample_rate": self.models.sample_rate,
                                  "speakers": self.models.speakers(),
                                  "speaker": self.models.speaker,
                                  "max_sessions": self.limits.max_sessions})

    async def _run(self, fn, *args, bulk: bool = False):
        pool = self.bulk if bulk else self.pool
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):
            return web.Response(status=403, text="origin not allowed\n")
        ws = web.WebSocketResponse(max_msg_size=HARD_MESSAGE_BYTES, heartbeat=HEARTBEAT_S,
                                   timeout=CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        address = request.remote
        why = self._refusal(address)
        if why:
            await ws.send_json({"type": "error", "message": why})
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
            return ws
        self._per_address[address] += 1
        self._sockets.add(ws)
        try:
            await self._serve(ws)
        except ProtocolError as e:
            if not ws.closed:
                await ws.send_json({"type": "error", "message": str(e)})
                await ws.close(code=e.code)
        except ConnectionResetError:
            pass  # the client went away: its session is dropped below
        except Exception:  # a bug, not the client's fault: say so, keep serving the others
            log.exception("live session failed")
            if not ws.closed:
                await ws.send_json({"type": "error", "message": "internal server error (logged)"})
                await ws.close(code=WSCloseCode.INTERNAL_ERROR)
        finally:  # cancellation (shutdown) passes through, after the counts are released
            self._sockets.discard(ws)
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]
        return ws

    async def _receive(self, ws: web.WebSocketResponse, timeout: float, what: str):
        """The next data message, None once the socket closes; ProtocolError past ``timeout``."""
        while True:
            try:
                msg = await ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                raise ProtocolError(f"no {what} within {timeout:g} s: closing") from None
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                return msg
            if msg.type == WSMsgType.ERROR:
                log.info("websocket closed with error: %s", ws.exception())
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                            WSMsgType.ERROR):
                return None

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        msg = await self._receive(ws, self.limits.start_timeout, "start message")
        if msg is None:
            return
        if msg.type == WSMsgType.BINARY:
            raise ProtocolError("audio before the start message")
        message = self._parse(msg.data)
        if message["type"] != "start":
            raise ProtocolError(f"{message['type']!r} message before the start message")
        if self.sessions >= self.limits.max_sessions:
            raise Refused(f"server is full ({self.limits.max_sessions} sessions): "
                          "try again later")
        self.sessions += 1  # counted before the await, so two starts cannot both take the last
        try:
            session = await self._run(Session, self.models, message, self.record_dir)
        except BaseException:
            self.sessions -= 1
            raise
        try:
            await ws.send_json(session.ready())
            await self._converse(ws, session)
        finally:
            self.sessions -= 1
            # Off the event loop, and to the end even when this handler is cancelled.
            await asyncio.shield(self._run(self._end, session))

    def _end(self, session: Session) -> None:
        path = session.close()
        if path:
            self.recorded.append(path)

    @staticmethod
    def _parse(data: str) -> dict:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            raise ProtocolError("message is not valid JSON") from None
        if not isinstance(message, dict) or "type" not in message:
            raise ProtocolError("message must be a JSON object with a 'type'")
        return message

    async def _converse(self, ws: web.WebSocketResponse, session: Session) -> None:
        # One message in work per session: the next waits in the socket (aiohttp's 64 KiB
        # buffer, then TCP back-pressure), so a client cannot queue work on the server.
        while (msg := await self._receive(ws, self.limits.idle_timeout, "message")) is not None:
            if msg.type == WSMsgType.BINARY:
                bulk = not session.realtime(len(msg.data))
                await self._send(ws, await self._run(session.audio, msg.data, bulk=bulk))
                continue
            message = self._parse(msg.data)
            kind = message["type"]
            if kind == "start":
                raise ProtocolError("this connection has already started a session")
            if kind == "stop":
                await self._send(ws, await self._run(session.stop))
            elif kind == "speak":
                await self._speak(ws, session, session.speak(message))
            else:
                raise ProtocolError(f"unknown message type {kind!r}")

    async def _speak(self, ws: web.WebSocketResponse, session: Session, chunks) -> None:
        while (item := await self._run(next, chunks, _SENTINEL, bulk=True)) is not _SENTINEL:
            await self._send(ws, [item])
            if isinstance(item, bytes):
                # The listener plays in real time: running further ahead helps nobody and
                # takes the cores from live audio.
                now = time.monotonic()
                session.heard_until = max(session.heard_until, now) + len(item) / 2 / session.rate
                await asyncio.sleep(max(0.0, session.heard_until - SPEAK_LEAD_S - now))

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
