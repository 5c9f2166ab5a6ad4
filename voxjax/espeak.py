"""In-process ctypes binding to eSpeak NG, as shipped by the ``espeakng-loader`` wheel.

No subprocess, no system package, no download: the wheel carries ``libespeak-ng.so`` and its
``espeak-ng-data`` folder. The library keeps global state (one voice, one synth callback), so it
is neither thread-safe nor re-entrant: use **one** :class:`ESpeak` per process (see
:func:`get_espeak`; the corpus builder runs one per worker process). It depends on nothing else
in voxjax, so both the text front end (IPA phonemes) and the corpus builder (speech) sit above it.

Determinism. eSpeak's waveform generator carries state from one utterance to the next that no
API resets: the pitch-flutter phase (a function-static counter in ``wavegen.c``), the automatic
gain control, the roughness cycle counter and the breath/Klatt resonators. Every voice has
flutter, so *every* variant gave different samples (and lengths, by a few samples) for the same
text depending on what was spoken before it in the process. The fix: :meth:`ESpeak.synthesize`
unloads and reloads a private copy of the library (``dlclose`` + ``dlopen`` +
``espeak_Initialize``, about 0.5 ms) before each utterance, so every utterance starts from the
freshly-initialised state. Breath noise is random: 11 of the 104 variants use it (``Alicia``,
``Demonic``, ``Reed``, ``caleb``, ``f2``, ``f3``, ``f5``, ``sandro``, ``victor``, ``whisper``,
``whisperf``; found by synthesising with two seeds). It comes from eSpeak's own generator, which
``espeak_Initialize`` seeds from the clock, and from libc ``rand()`` (Klatt voices); both are
re-seeded per utterance from ``seed``. With both fixes the same text, voice, rate, pitch, pitch
range and seed give bit-identical samples for every variant, whatever ran before in the process.
"""
from __future__ import annotations

import _ctypes
import ctypes
import os
import shutil
import tempfile
import threading

import numpy as np

# espeak_AUDIO_OUTPUT: samples are handed to our callback and espeak_Synth returns when done.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error code instead of exit() on missing data
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PHONEMES_IPA = 0x02
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER values (speak_lib.h)
_EE_OK = 0

# English accent files that read the Latin alphabet (``en-shaw`` expects Shavian script).
_ENGLISH_EXCLUDED = {"en-shaw"}

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.c_void_p)

_instance_lock = threading.Lock()
_instance: "ESpeak | None" = None


class ESpeakError(RuntimeError):
    """eSpeak NG could not be loaded or initialised, or refused a voice or a text."""


def _wheel_paths() -> tuple[str, str]:
    """Library file and ``espeak-ng-data`` folder of the espeakng-loader wheel."""
    try:
        import espeakng_loader
    except ImportError:
        raise ESpeakError("espeakng-loader is not installed (pip install espeakng-loader)") from None
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def english_accents() -> list[str]:
    """English accents shipped by the wheel (``en``, ``en-us``, ``en-gb-scotland``...), sorted.

    Read from ``espeak-ng-data/lang/gmw`` without loading the library.
    """
    folder = os.path.join(_wheel_paths()[1], "lang", "gmw")
    names = [n.lower() for n in os.listdir(folder) if n.lower() == "en" or n.lower().startswith("en-")]
    return sorted(n for n in names if n not in _ENGLISH_EXCLUDED)


def variants() -> list[str]:
    """Voice variants shipped by the wheel (``m3``, ``f2``, ``klatt``...), sorted.

    A voice id is ``accent+variant`` (``en-us+m3``); read without loading the library.
    """
    folder = os.path.join(_wheel_paths()[1], "voices", "!v")
    return sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))


def _private_library_copy(lib_path: str) -> str:
    """A copy of the wheel's library in the temp folder, shared by processes, made once.

    Loading a copy (not the wheel's file) means dlclose really unloads it even if another module
    in this process holds the wheel's library open, which would keep the old state alive.
    """
    st = os.stat(lib_path)
    name = f"voxjax-libespeak-ng-{os.getuid()}-{st.st_size}-{int(st.st_mtime)}.so"
    path = os.path.join(tempfile.gettempdir(), name)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(lib_path, tmp)
            os.replace(tmp, path)  # atomic: concurrent workers never load a half-written file
        except OSError as e:
            raise ESpeakError(f"cannot copy {lib_path} to {tempfile.gettempdir()}: {e}") from None
    return path


class ESpeak:
    """One eSpeak NG engine for this process; :func:`get_espeak` returns a shared one.

    ``synthesize`` returns float32 samples in [-1, 1] at :attr:`sample_rate` (22050 Hz).
    """

    def __init__(self):
        lib_path, self.data_path = _wheel_paths()
        self._lib_path = _private_library_copy(lib_path)
        self._libc = ctypes.CDLL(None)  # srand() for the rand() calls of breath noise
        self._chunks: list[np.ndarray] = []

        def _collect(wav, num_samples, events):
            if num_samples > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
            return 0  # 0 = go on synthesising

        self._callback = _SYNTH_CALLBACK(_collect)  # keep a reference: C holds the pointer
        self._lib = None
        self._fresh = False  # True while no utterance has run since the last (re)load
        self._voice = None
        self.sample_rate = 0
        self._load()

    # ------------------------------------------------------------------ library lifecycle

    def _load(self) -> None:
        """dlopens the private library copy and initialises it (fresh static state)."""
        try:
            lib = ctypes.CDLL(self._lib_path)
        except OSError as e:
            raise ESpeakError(f"cannot load eSpeak NG library: {e}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                              ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        # espeak_Initialize wants the folder that *contains* espeak-ng-data.
        parent = os.path.dirname(os.path.abspath(self.data_path)).encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, parent, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise ESpeakError(f"espeak_Initialize failed with data at {self.data_path}")
        lib.espeak_SetSynthCallback(self._callback)
        self._lib, self._fresh, self._voice = lib, True, None
        self.sample_rate = int(rate)

    def _unload(self) -> None:
        """Terminates eSpeak and dlcloses the library, dropping all its static state."""
        if self._lib is None:
            return
        lib, self._lib = self._lib, None
        lib.espeak_Terminate()
        handle = lib._handle
        del lib
        _ctypes.dlclose(handle)

    def close(self) -> None:
        """Releases the library (its next use reloads it)."""
        self._unload()
        self._fresh = False

    # ------------------------------------------------------------------ voices

    def english_accents(self) -> list[str]:
        """Names of the English accents (e.g. ``en-us``, ``en-gb-scotland``), sorted."""
        return english_accents()

    def variants(self) -> list[str]:
        """Names of the voice variants under ``espeak-ng-data/voices/!v``, sorted."""
        return variants()

    def _set_voice(self, voice: str) -> None:
        if voice == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise ESpeakError(f"eSpeak has no voice {voice!r} (use e.g. 'en-us' or 'en-us+m3')")
        self._voice = voice

    # ------------------------------------------------------------------ synthesis

    def synthesize(self, text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
                   seed: int = 0, pitch_range: int | None = None) -> tuple[np.ndarray, int]:
        """Speaks ``text`` with ``voice`` (``accent`` or ``accent+variant``) -> ``(wave, rate)``.

        ``rate`` is in words per minute (80..450), ``pitch`` the base pitch 0..100 (50 = the
        voice's own), ``seed`` seeds the breath noise, ``pitch_range`` the intonation range
        0..100 (eSpeak's ``espeakRANGE``: 0 = monotone, 50 = the voice's own; None leaves it
        untouched). The same arguments always give bit-identical float32 samples (see the module
        docstring).
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("cannot synthesise empty text")
        if not 80 <= int(rate) <= 450:
            raise ValueError(f"rate must be in 80..450 words per minute, got {rate}")
        if not 0 <= int(pitch) <= 100:
            raise ValueError(f"pitch must be in 0..100, got {pitch}")
        if pitch_range is not None and not 0 <= int(pitch_range) <= 100:
            raise ValueError(f"pitch_range must be in 0..100, got {pitch_range}")
        if self._lib is None or not self._fresh:
            self._unload()
            self._load()
        self._fresh = False
        self._set_voice(voice)
        # SetVoiceByName resets rate and pitch to the voice's defaults: set them after it.
        self._lib.espeak_SetParameter(_RATE, int(rate), 0)
        self._lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        if pitch_range is not None:
            self._lib.espeak_SetParameter(_RANGE, int(pitch_range), 0)
        # espeak_Initialize seeds eSpeak's own generator from the clock; libc rand() is global.
        self._lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)
        self._libc.srand(ctypes.c_uint(int(seed) & 0xFFFFFFFF))
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        self._chunks = []
        err = self._lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        if err != _EE_OK:
            raise ESpeakError(f"espeak_Synth failed (code {err}) for {text[:40]!r}")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples.astype(np.float32) / 32768.0, self.sample_rate

    def phonemize(self, text: str, voice: str = "en-us") -> str:
        """IPA transcription of ``text`` via espeak_TextToPhonemes (clauses joined by spaces)."""
        if not isinstance(text, str) or not text.strip():
            return ""
        if self._lib is None:
            self._load()
        self._fresh = False  # translation state may change: the next synthesis reloads
        self._set_voice(voice)
        buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        # TextToPhonemes advances the pointer clause by clause and sets it to NULL at the end.
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        out = []
        while ptr.value:
            phonemes = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8,
                                                       _PHONEMES_IPA)
            if phonemes:
                out.append(phonemes.decode("utf-8").strip())
        return " ".join(p for p in out if p)


def get_espeak() -> ESpeak:
    """The process-wide :class:`ESpeak`, created on first use."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = ESpeak()
        return _instance
