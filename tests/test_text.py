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
