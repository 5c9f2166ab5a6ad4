"""Built-in synthetic corpus: eSpeak NG binding, prose generator and corpus builder."""
from voxjax.corpus.build import CorpusError, build_corpus, plan_corpus, voices
from voxjax.espeak import ESpeak, ESpeakError, english_accents, get_espeak, variants
from voxjax.corpus.sentences import SentenceGenerator, generate_sentences, sentence_stats

__all__ = ["CorpusError", "ESpeak", "ESpeakError", "SentenceGenerator", "build_corpus",
           "english_accents", "generate_sentences", "get_espeak", "plan_corpus", "sentence_stats",
           "variants", "voices"]
