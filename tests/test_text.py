"""Text normalisation and the character tokenizer."""
import pytest

from voxjax import text


@pytest.mark.parametrize("raw,spoken", [
    ("On March 5, 1998, Dr. Smith left.", "on march fifth nineteen ninety eight doctor smith left"),
    ("It cost $3.50 at 3:30.", "it cost three dollars fifty cents at three thirty"),
    ("The 21st of 45% & 2 more", "the twenty first of forty five percent and two more"),
    ("\u201cDon't\u201d \u2014 caf\u00e9 1,200", "don't cafe one thousand two hundred"),
])
def test_normalize_writes_out_numbers_dates_and_symbols(raw, spoken):
    assert text.normalize(raw) == spoken


def test_verbalize_keeps_case_and_punctuation():
    assert text.verbalize("Mr. Lee has 3 cats.") == "mister Lee has three cats."


def test_tokenizer_round_trip_and_blank():
    tok = text.CharTokenizer()
    ids = tok.encode("Hello, world!")
    assert 0 not in ids and tok.decode(ids) == "hello world"
    assert tok.decode([0] + ids + [0]) == "hello world"


@pytest.mark.parametrize("bad", ["", "   ", "?!...", "\U0001F600", "\u4f60\u597d"])
def test_unspeakable_text_raises(bad):
    with pytest.raises(text.TextError):
        text.CharTokenizer().encode(bad)


# ----------------------------------------------------------------------------- TTS front end

SENTENCE = "Dr. Smith paid $3.50 on May 5, 2021."


@pytest.fixture(scope="module", params=["chars", "phonemes"])
def tts_tok(request):
    return text.make_tts_tokenizer(request.param)


def test_tts_text_verbalises_and_keeps_clause_punctuation():
    assert text.tts_text("Hello, world!! How are you?! I said no. (Quietly) - ok...") == (
        "Hello, world! How are you? I said no. Quietly, ok.")
    assert text.tts_text("U.S.A. e.g. MP3 -5") == "USA for example MP three minus five"


def test_tts_round_trip_has_no_unknowns(tts_tok, caplog):
    ids = tts_tok.encode(SENTENCE)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert ids and min(ids) > 0 and max(ids) < tts_tok.vocab_size
    decoded = tts_tok.decode([tts_tok.pad_id] + ids + [tts_tok.pad_id])
    assert decoded.count(",") == 1 and decoded.endswith(".")
    if tts_tok.kind == "chars":
        assert decoded == ("doctor smith paid three dollars fifty cents on may fifth, "
                           "twenty twenty one.")
        assert tts_tok.encode(decoded) == ids
    else:
        assert "ˈ" in decoded and "ˌ" in decoded and "ː" in decoded
        assert decoded.startswith("dˈɑːktɚ smˈɪθ") and "θɹˈiː" in decoded


def test_tts_ids_are_fixed():
    chars, phones = text.make_tts_tokenizer("chars"), text.make_tts_tokenizer("phonemes")
    assert chars.symbols[:8] == [text.PAD, " ", ",", ".", "?", "!", ";", ":"]
    assert phones.symbols[:8] == chars.symbols[:8]
    assert chars.vocab_size == 35 and phones.vocab_size == 8 + len(text.IPA_SYMBOLS) == 124
    assert phones.encode("Hi.") == [phones.symbols.index(c) for c in "hˈaɪ."]


@pytest.mark.parametrize("bad,message", [
    ("", "empty"), ("   \n\t", "whitespace"), ("?!...", "punctuation"),
    ("\U0001F600\U0001F44D", "emoji"), ("\u4f60\u597d\u3002", "CJK"),
    ("\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440", "CYRILLIC"),
])
def test_unspeakable_tts_text_raises_one_line_error(tts_tok, bad, message):
    with pytest.raises(text.TextError, match=message) as info:
        tts_tok.encode(bad)
    assert "\n" not in str(info.value)


def test_mixed_text_drops_emoji_with_one_warning(tts_tok, caplog):
    with caplog.at_level("WARNING", logger="voxjax.text"):
        ids = tts_tok.encode("Good \U0001F600 morning \u4f60, friend!")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "\U0001F600" in warnings[0].getMessage()
    assert ids == tts_tok.encode("Good morning, friend!")


def test_phoneme_inventory_covers_every_english_accent():
    from voxjax.corpus import vocabulary
    from voxjax.espeak import english_accents, get_espeak
    words = sorted({w for v in vars(vocabulary).values() if isinstance(v, tuple)
                    for w in v if isinstance(w, str)})
    assert len(words) > 1000
    seen = set()
    for accent in english_accents():
        for w in words:
            seen.update(get_espeak().phonemize(w, voice=accent).translate(text._IPA_FIXES))
    assert seen - {" "} <= set(text.IPA_SYMBOLS), seen - set(text.IPA_SYMBOLS)


def test_tts_encode_is_deterministic(tts_tok):
    first = tts_tok.encode(SENTENCE)
    tts_tok.encode("Something else entirely, spoken in between?")
    assert tts_tok.encode(SENTENCE) == first


def test_unknown_kind_rejected():
    with pytest.raises(ValueError, match="chars"):
        text.make_tts_tokenizer("bytes")


def test_split_sentences_long_text():
    rng = __import__("random").Random(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    parts = []
    while sum(len(p) + 1 for p in parts) < 10_000:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(3, 60)))
        parts.append(sentence.capitalize() + rng.choice([".", "!", "?", ";", ","]))
    long_text = "  ".join(parts)[:10_000]
    pieces = text.split_sentences(long_text, max_chars=120)
    assert all(0 < len(p) <= 120 for p in pieces)
    assert " ".join(pieces).split() == long_text.split()
    assert len(pieces) > 10_000 // 120


def test_split_sentences_keeps_abbreviations():
    assert text.split_sentences("Dr. Smith met J. Lee at No. 5. I said no. Fine!  Ok") == [
        "Dr. Smith met J. Lee at No. 5.", "I said no.", "Fine!", "Ok"]
    assert text.split_sentences("one, two, three four", max_chars=9) == [
        "one, two,", "three", "four"]
    assert text.split_sentences("   ") == []


def test_unknown_ipa_is_dropped_with_a_warning(monkeypatch, caplog):
    from voxjax import espeak
    monkeypatch.setattr(espeak.ESpeak, "phonemize",
                        lambda self, t, voice="en-us": "hˈaɪ ʘ\u01c0ðɛɹ")
    tok = text.make_tts_tokenizer("phonemes")
    with caplog.at_level("WARNING", logger="voxjax.text"):
        ids = tok.encode("Hi there.")
    assert tok.decode(ids) == "hˈaɪ ðɛɹ."
    assert len(caplog.records) == 1 and "ʘ" in caplog.records[0].getMessage()
