"""Text normalisation and tokenisation, for recognition targets and for synthesis input.

Two levels: :func:`verbalize` writes numbers, dates, currency, ordinals, symbols and abbreviations
out as words but keeps case and punctuation (what a synthesiser should read); :func:`normalize`
then lowercases and keeps only the character set (what a recogniser is trained to output).

The TTS front end (:func:`tts_text`, :func:`make_tts_tokenizer`, :func:`split_sentences`, in the
second half of this module) checks and cleans raw text, verbalises it keeping clause punctuation
(prosody needs it), then tokenises into characters or eSpeak NG IPA phonemes.
"""
from __future__ import annotations

import logging
import re
import unicodedata

from num2words import num2words

from voxjax import espeak

log = logging.getLogger(__name__)

BLANK = "<blank>"
CHARACTERS = " 'abcdefghijklmnopqrstuvwxyz"


class TextError(ValueError):
    """Text that cannot be used (empty, or nothing left after normalisation)."""


_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "prof": "professor",
    "st": "street", "ave": "avenue", "rd": "road", "mt": "mount", "jr": "junior", "sr": "senior",
    "co": "company", "corp": "corporation", "inc": "incorporated", "ltd": "limited",
    "no": "number", "vs": "versus", "etc": "et cetera", "approx": "approximately",
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
    "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december", "km": "kilometres", "kg": "kilograms", "cm": "centimetres",
}
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_SYMBOLS = {"&": " and ", "%": " percent", "+": " plus ", "=": " equals ", "@": " at ",
            "#": " number "}
_UNICODE_PUNCT = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                  "\u2014": " - ", "\u2026": "..."}

_CURRENCY = re.compile(r"([$£€])\s?(\d[\d,]*(?:\.\d\d)?)")
_DATE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r") (\d{1,2}), (\d{4})\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d\d)\b")
_YEAR = re.compile(r"\b(1[1-9]\d\d|20\d\d)\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_NUMBER = re.compile(r"\b\d[\d,]*\b")
_ABBREV = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.", re.IGNORECASE)


def _currency(match: re.Match) -> str:
    code = {"$": "USD", "£": "GBP", "€": "EUR"}[match.group(1)]
    amount = float(match.group(2).replace(",", ""))
    words = num2words(amount, to="currency", currency=code)
    return words.replace(", zero cents", "").replace(", zero pence", "").replace(", zero cents", "")


def _date(match: re.Match) -> str:
    month, day, year = match.groups()
    return f"{month} {num2words(int(day), to='ordinal')}, {num2words(int(year), to='year')}"


def _time(match: re.Match) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f"{num2words(hours)} o'clock"
    tail = f"oh {num2words(minutes)}" if minutes < 10 else num2words(minutes)
    return f"{num2words(hours)} {tail}"


def verbalize(text: str) -> str:
    """Writes out numbers, dates, currency, times, ordinals, symbols and abbreviations.

    Keeps case and sentence punctuation, so the result is what a speaker (or eSpeak) should read
    and what :func:`normalize` turns into recogniser targets.
    """
    text = unicodedata.normalize("NFKC", text)
    for src, dst in _UNICODE_PUNCT.items():
        text = text.replace(src, dst)
    text = _CURRENCY.sub(_currency, text)
    text = _DATE.sub(_date, text)
    text = _TIME.sub(_time, text)
    text = _ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _YEAR.sub(lambda m: num2words(int(m.group(1)), to="year"), text)
    text = _DECIMAL.sub(lambda m: f"{num2words(int(m.group(1)))} point "
                                  + " ".join(num2words(int(d)) for d in m.group(2)), text)
    text = _NUMBER.sub(lambda m: num2words(int(m.group(0).replace(",", ""))), text)
    text = _ABBREV.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    for src, dst in _SYMBOLS.items():
        text = text.replace(src, dst)
    return re.sub(r"\s+", " ", text).strip()


def normalize(text: str) -> str:
    """Verbalises, lowercases and keeps only ``CHARACTERS`` (accents folded, the rest dropped)."""
    text = verbalize(text).lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[-/]", " ", text)
    text = "".join(c for c in text if c in CHARACTERS)
    text = re.sub(r"(^|\s)'+|'+(\s|$)", r"\1\2", text)  # quotes, not apostrophes
    return re.sub(r"\s+", " ", text).strip()


class CharTokenizer:
    """Characters <-> ids; id 0 is the CTC blank, so ids of real symbols start at 1."""

    def __init__(self, characters: str = CHARACTERS):
        self.symbols = [BLANK] + list(characters)
        self._index = {c: i for i, c in enumerate(self.symbols)}

    @property
    def vocab_size(self) -> int:
        """Number of ids, blank included."""
        return len(self.symbols)

    @property
    def blank_id(self) -> int:
        """The CTC blank's id."""
        return 0

    def encode(self, text: str) -> list[int]:
        """Normalises ``text`` and returns its ids; raises TextError if nothing is left."""
        norm = normalize(text)
        if not norm:
            raise TextError(f"no speakable characters in text {text[:40]!r}")
        return [self._index[c] for c in norm]

    def decode(self, ids) -> str:
        """Ids (blanks ignored) back to a string."""
        return "".join(self.symbols[int(i)] for i in ids if int(i) != 0)


# ============================================================================= TTS front end
#
# Raw text -> tts_text (checked, cleaned, verbalised, clause punctuation kept) -> symbols -> ids.
# Case and accents survive tts_text because eSpeak uses them; the char tokenizer folds them.

PAD = "<pad>"
TTS_PUNCTUATION = ",.?!;:"  # kept as tokens: they drive pauses and intonation
TTS_LETTERS = "abcdefghijklmnopqrstuvwxyz'"

# eSpeak NG IPA as single code points (a diphthong or affricate is two tokens, stress and length
# are their own tokens, as in Piper). The measured set -- the vocabulary words plus 15,000 random
# letter strings phonemized in every English accent of the wheel -- is a strict subset; the rest
# covers loanword and accent symbols so that ids never change when eSpeak data does. Never
# reorder or remove entries: ids are positions in this list. Append only.
_IPA_VOWELS = "aeiouyæɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵøœɶʉʊʌʏᵻ"
_IPA_CONSONANTS = "bcdfhjklmnpqrstvwxzçðħŋɓɕɖɗɟɠɡɢɣɥɦɧɫɬɭɮɰɱɲɳɴɸɹɺɻɽɾʀʁʂʃʈʋʍʎʐʑʒʔʕʝʟβθχ"
# Stress, length, secondary articulations, then combining marks: nasal, syllabic, dental,
# non-syllabic, voiceless, the two tie bars eSpeak emits with espeakPHONEMES_TIE, and the liaison
# undertie.
_IPA_MARKS = "ˈˌːˑʰʲʷˠˤ" + "\u0303\u0329\u032a\u032f\u0325\u0361\u035c\u203f"
IPA_SYMBOLS = _IPA_VOWELS + _IPA_CONSONANTS + _IPA_MARKS
# ASCII look-alikes eSpeak sometimes prints (en-gb-scotland writes "a:" for "aː").
_IPA_FIXES = str.maketrans({":": "ː", "g": "ɡ"})

_FOLD = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "þ": "th", "ð": "th",
         "ı": "i"}
_MARKUP = str.maketrans({c: " " for c in "\"*_~^`|\\/<>"})  # read as nothing, silently
_CLAUSE_RUN = re.compile(r"[,.?!;:](?:[\s,.?!;:])*")
_CLAUSE = re.compile(r"([^,.?!;:]+)([,.?!;:]?)")


def _describe(char: str) -> str:
    """What a dropped character is, for messages: ``emoji/symbol``, ``CYRILLIC``, ``control``."""
    cat = unicodedata.category(char)
    if cat[0] in "LN" or cat == "Mc":
        return unicodedata.name(char, "UNKNOWN").split()[0]  # the script, e.g. CJK, GREEK
    if cat == "Cc":
        return "control"
    if cat in ("Sc", "Sm"):
        return "symbol"  # a currency or maths sign verbalize could not read
    return "emoji/symbol"  # So, Sk, Co, Cn, and the joiners and selectors (Cf, Mn) of emoji


def _sanitize(text: str) -> tuple[str, list[str]]:
    """Keeps what the English front end can read; returns ``(text, dropped characters)``.

    Kept: ASCII, Latin letters (with accents), ``£ €``. Other punctuation becomes a space
    silently (``¿ « »``); emoji, other scripts and control characters are dropped (as a space)
    and returned, so the caller can warn once or name them in an error.
    """
    text = unicodedata.normalize("NFKC", text)
    for src, dst in _UNICODE_PUNCT.items():
        text = text.replace(src, dst)
    out, dropped, prev_latin = [], [], False
    for c in text:
        cat = unicodedata.category(c)
        latin = cat[0] == "L" and unicodedata.name(c, "").startswith("LATIN")
        if c.isspace():
            out.append(" ")
        elif (c.isascii() and c.isprintable()) or latin or c in "£€":
            out.append(c)
        elif cat == "Mn" and prev_latin:
            out.append(c)  # an accent NFKC could not compose onto its Latin letter
        elif cat[0] == "P":
            out.append(" ")
        else:
            out.append(" ")
            dropped.append(c)
        prev_latin = latin or (cat == "Mn" and prev_latin)
    return "".join(out), dropped


def _pre_verbalize(text: str) -> str:
    """TTS-only fixes applied before :func:`verbalize` (which STT labels also use, so unchanged)."""
    text = re.sub(r"\be\.g\.", "for example", text, flags=re.IGNORECASE)
    text = re.sub(r"\bi\.e\.", "that is", text, flags=re.IGNORECASE)
    text = re.sub(r"\b((?:[A-Za-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)  # U.S.A.
    # verbalize reads every "no." as "number"; only "No. 5" is one. The space hides the rest.
    text = re.sub(r"\b([Nn]o)\.(?!\s*\d)", r"\1 .", text)
    # num2words writes "three dollars, fifty cents"; a pause token inside a price sounds wrong.
    text = _CURRENCY.sub(lambda m: _currency(m).replace(",", ""), text)
    text = re.sub(r"(?<![\w.])-(?=\d)", "minus ", text)
    text = re.sub(r"(\d)(?!(?:st|nd|rd|th)\b)([A-Za-z])", r"\1 \2", text)  # 10x -> 10 x
    return re.sub(r"([A-Za-z])(\d)", r"\1 \2", text)  # MP3 -> MP 3


def _collapse_punctuation(match: re.Match) -> str:
    marks = [c for c in match.group(0) if c in TTS_PUNCTUATION]
    final = [c for c in marks if c in "?!."]  # "?!" -> "?", ", ." -> "."
    return (final or marks)[0] + " "


def _post_verbalize(text: str) -> tuple[str, list[str]]:
    """Canonical punctuation and spacing; returns ``(text, unknown symbols dropped)``."""
    text = re.sub(r"\d", lambda m: f" {num2words(int(m.group()))} ", text)  # strays verbalize left
    text = re.sub(r"\s-+\s|--+|[()\[\]{}]", ",", text)  # dashes and brackets are pauses
    text = re.sub(r"-(?!\w)|(?<!\w)-", " ", text)  # keep only word-internal hyphens
    text = re.sub(r"(^|[\s,.?!;:])'+|'+(?=[\s,.?!;:]|$)", r"\1", text)  # quotes, not apostrophes
    text = text.translate(_MARKUP)
    unknown = [c for c in text if not (c.isalpha() or c.isspace() or c in "'-" + TTS_PUNCTUATION
                                       or unicodedata.category(c) == "Mn")]
    text = "".join(" " if c in unknown else c for c in text)
    text = re.sub(r"\s+([,.?!;:])", r"\1", text)
    text = _CLAUSE_RUN.sub(_collapse_punctuation, text)
    text = re.sub(r"^[\s,.?!;:]+", "", text)
    return re.sub(r"\s+", " ", text).strip(), unknown


def _warn_dropped(dropped: list[str], text: str) -> None:
    if dropped:
        kinds = sorted({_describe(c) for c in dropped})
        log.warning("dropped %d unsupported character(s) %r (%s) from text %r", len(dropped),
                    "".join(dict.fromkeys(dropped)), ", ".join(kinds), text[:60])


def tts_text(text: str) -> str:
    """Checks, cleans and verbalises raw text for synthesis, keeping ``, . ? ! ; :``.

    ``"Dr. Smith paid $3.50!!"`` -> ``"doctor Smith paid three dollars fifty cents!"``. Emoji,
    other scripts and unknown symbols in otherwise English text are dropped with one logged
    warning. Raises :class:`TextError` (one line naming the problem) for empty, whitespace-only,
    punctuation-only, emoji-only or other-script-only text.
    """
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}")
    if not text:
        raise TextError("text is empty")
    if not text.strip():
        raise TextError("text is only whitespace")
    clean, dropped = _sanitize(text)
    spoken, unknown = _post_verbalize(verbalize(_pre_verbalize(clean)))
    if not any(c.isalpha() for c in spoken):
        scripts = {_describe(c) for c in dropped} - {"emoji/symbol", "symbol", "control"}
        shown = repr(text[:40])
        if scripts:
            raise TextError(f"text has no English words, only {'/'.join(sorted(scripts))} "
                            f"characters (only English is supported): {shown}")
        if dropped:
            raise TextError(f"text is only emoji or symbols, nothing to speak: {shown}")
        raise TextError(f"text is only punctuation or symbols, nothing to speak: {shown}")
    _warn_dropped(dropped + unknown, text)
    return spoken


class TtsTokenizer:
    """Synthesis input ids: id 0 is padding, then space, clause punctuation, then ``units``.

    Subclasses turn :func:`tts_text` output into a string over ``units`` (:meth:`_symbolize`).
    ``encode`` is pure: the same text always gives the same ids, on any machine.
    """

    kind = ""

    def __init__(self, units: str):
        self.symbols = [PAD, " ", *TTS_PUNCTUATION, *units]
        assert len(set(self.symbols)) == len(self.symbols), "duplicate symbol in the inventory"
        self._index = {c: i for i, c in enumerate(self.symbols)}
        self._first_unit = 2 + len(TTS_PUNCTUATION)  # ids below are padding, space, punctuation

    @property
    def vocab_size(self) -> int:
        """Number of ids, padding included."""
        return len(self.symbols)

    @property
    def pad_id(self) -> int:
        """The padding id (never produced by :meth:`encode`)."""
        return 0

    def _symbolize(self, spoken: str) -> str:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Raw text -> ids; unknown symbols dropped with a warning; bad text raises TextError."""
        units = self._symbolize(tts_text(text))
        unknown = [c for c in units if c not in self._index]
        if unknown:
            log.warning("%s tokenizer dropped unknown symbol(s) %r from text %r", self.kind,
                        "".join(dict.fromkeys(unknown)), text[:60])
            units = re.sub(r" {2,}", " ", "".join(c for c in units if c in self._index)).strip()
        if not any(self._index[c] >= self._first_unit for c in units):
            raise TextError(f"nothing left to speak after tokenising text {text[:40]!r}")
        return [self._index[c] for c in units]

    def decode(self, ids) -> str:
        """Ids (padding ignored) back to the symbol string."""
        return "".join(self.symbols[int(i)] for i in ids if int(i) != 0)


class CharTtsTokenizer(TtsTokenizer):
    """Lowercase letters and apostrophe, accents folded (``café`` -> ``cafe``)."""

    kind = "chars"

    def __init__(self):
        super().__init__(TTS_LETTERS)

    def _symbolize(self, spoken: str) -> str:
        text = "".join(_FOLD.get(c, c) for c in spoken.lower())
        text = "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))
        return re.sub(r" {2,}", " ", text.replace("-", " "))


class PhonemeTtsTokenizer(TtsTokenizer):
    """eSpeak NG IPA over the fixed :data:`IPA_SYMBOLS` inventory, clause punctuation kept.

    eSpeak's phonemizer drops punctuation, so each clause between two marks is phonemized on its
    own and the mark re-inserted after it: ``"hello, world."`` -> ``"həlˈoʊ, wˈɜːld."``.
    """

    kind = "phonemes"

    def __init__(self, voice: str = "en-us"):
        super().__init__(IPA_SYMBOLS)
        self.voice = voice

    def _symbolize(self, spoken: str) -> str:
        engine = espeak.get_espeak()
        pieces = []
        for clause, mark in _CLAUSE.findall(spoken):
            ipa = engine.phonemize(clause, voice=self.voice).translate(_IPA_FIXES)
            ipa = " ".join(ipa.split())
            if ipa:
                pieces.append(ipa + mark)
        return " ".join(pieces)


def make_tts_tokenizer(kind: str = "phonemes", voice: str = "en-us") -> TtsTokenizer:
    """The TTS tokenizer for ``kind`` in {"chars", "phonemes"} (``voice`` is eSpeak's accent)."""
    if kind == "chars":
        return CharTtsTokenizer()
    if kind == "phonemes":
        return PhonemeTtsTokenizer(voice)
    raise ValueError(f"unknown TTS tokenizer kind {kind!r} (use 'chars' or 'phonemes')")


# ----------------------------------------------------------------------------- long text

_SENTENCE_END = re.compile(r"[.!?;]+[\"')\]]*(?=\s)")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the "." at ``dot`` ends an abbreviation or initial, not a sentence."""
    word = re.search(r"(\w+)$", text[:dot])
    if word is None:
        return False
    word = word.group(1)
    if word.lower() == "no":  # "No. 5" only; "I said no." ends a sentence
        return bool(re.match(r"\s*\d", text[dot + 1:]))
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _pack(fragments: list[str], max_chars: int) -> list[str]:
    """Greedily joins consecutive fragments with spaces while they fit in ``max_chars``."""
    out: list[str] = []
    for frag in fragments:
        if out and len(out[-1]) + 1 + len(frag) <= max_chars:
            out[-1] += " " + frag
        else:
            out.append(frag)
    return out


def split_sentences(text: str, max_chars: int = 300) -> list[str]:
    """Splits long text into non-empty pieces of at most ``max_chars`` characters.

    Splits after ``. ! ?`` and ``;`` (not after abbreviations such as ``Dr.`` or initials);
    a sentence longer than ``max_chars`` is split after commas, then at spaces, and pieces are
    packed back together while they fit. Whitespace is collapsed, so ``" ".join(pieces)`` has the
    words of ``text``; only a single word longer than ``max_chars`` is cut inside.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    sentences, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) == "." and _is_abbreviation(text, m.start()):
            continue
        sentences.append(text[start:m.end()])
        start = m.end()
    sentences.append(text[start:])
    pieces = []
    for sentence in sentences:
        sentence = " ".join(sentence.split())
        if len(sentence) <= max_chars:
            pieces += [sentence] if sentence else []
            continue
        fragments = []
        for clause in re.split(r"(?<=,) ", sentence):
            for word in (clause.split(" ") if len(clause) > max_chars else [clause]):
                fragments += [word[i:i + max_chars] for i in range(0, len(word), max_chars)]
        pieces += _pack(fragments, max_chars)
    return pieces
