"""Text normalisation and character tokenisation.

Two levels: :func:`verbalize` writes numbers, dates, currency, ordinals, symbols and abbreviations
out as words but keeps case and punctuation (what a synthesiser should read); :func:`normalize`
then lowercases and keeps only the character set (what a recogniser is trained to output).
"""
from __future__ import annotations

import re
import unicodedata

from num2words import num2words

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
