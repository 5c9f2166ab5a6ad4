"""Conversion via text: words are spoken as soon as the greedy transcript makes them final, each
exactly once, in the target voice; beam transcribers and reference voices are refused; the CLI
runs the path end to end on tiny trained workdirs."""
import numpy as np
import pytest

from voxjax import cli
from voxjax.via_text import ViaTextConverter

SCRIPT = ["", "he", "hello", "hello wo", "hello world", "hello world a", "hello world and m",
          "hello world and more"]  # a greedy transcript after each chunk: it only grows


class ScriptedTranscriber:
    chunk_samples = 4
    settings = {"greedy": True}

    class mel_cfg:
        sample_rate = 16000

    def session(self):
        outer = self

        class Session:
            fed = 0

            def feed(self, samples):
                self.fed += 1
                return SCRIPT[min(self.fed, len(SCRIPT) - 1)]

            def finish(self):
                return SCRIPT[-1]

            @property
            def text(self):
                return SCRIPT[min(self.fed, len(SCRIPT) - 1)]
        del outer
        return Session()


class RecordingSynthesizer:
    """Speaks ``n`` samples of value ``k`` for the k-th call, ``n`` = characters spoken."""

    sample_rate = 16000

    def __init__(self):
        self.calls = []

        class Task:
            speakers = ["a", "b"]

            def speaker_id(self, name):
                if name not in (None, "a", "b"):
                    raise ValueError(f"unknown speaker {name!r}")
        self.task = Task()

    def stream(self, words, speaker):
        self.calls.append((words, speaker))
        yield np.full(len(words), len(self.calls), np.float32)


def test_final_words_are_spoken_at_once_and_only_once():
    synth = RecordingSynthesizer()
    converter = ViaTextConverter(ScriptedTranscriber(), synth)
    session = converter.session("b")
    produced = [session.feed(np.zeros(4)) for _ in range(len(SCRIPT) - 1)]
    produced.append(session.finish())
    spoken = [words for words, _ in synth.calls]
    assert spoken == ["hello", "world", "and", "more"]  # as each word met its space
    assert {speaker for _, speaker in synth.calls} == {"b"}
    # Audio came back from exactly the feeds whose transcript gained a final word.
    gained = [i for i, chunks in enumerate(produced) if chunks]
    assert gained == [2, 4, 5, 7]  # feed i sees SCRIPT[i + 1]: "hello wo", "hello world a", ...
    assert [e["words"] for e in session.events] == spoken
    assert [e["input_samples"] for e in session.events] == [12, 20, 24, 28]

    grouped = RecordingSynthesizer()
    out = ViaTextConverter(ScriptedTranscriber(), grouped, min_words=2).convert(
        np.zeros(28, np.float32), 16000, "a")
    assert [w for w, _ in grouped.calls] == ["hello world", "and more"]
    assert out.size == len("hello world") + len("and more")


def test_beam_transcribers_unknown_voices_and_references_are_refused():
    beam = ScriptedTranscriber()
    beam.settings = {"greedy": False}
    with pytest.raises(ValueError, match="needs a greedy transcriber"):
        ViaTextConverter(beam, RecordingSynthesizer())
    converter = ViaTextConverter(ScriptedTranscriber(), RecordingSynthesizer())
    with pytest.raises(ValueError, match="unknown speaker 'nobody'"):
        converter.session("nobody")
    with pytest.raises(ValueError, match="cannot take a reference recording"):
        converter.convert(np.zeros(8), 16000, reference=np.zeros(8))


def test_convert_cli_via_text_runs_on_tiny_workdirs(capsys, tmp_path, tiny_corpus,
                                                    tiny_streaming_workdir, tiny_tts_workdir,
                                                    tiny_decoder_workdir, tiny_offline_workdir):
    from voxjax.data import manifest
    source = manifest.load_manifest("synth", tiny_corpus, "test")[0].path
    out = tmp_path / "via_text.wav"
    base = ["convert", "--via-text", "--tts", tiny_tts_workdir, "--decoder", tiny_decoder_workdir,
            "--out", str(out)]
    assert cli.main(base + ["--stt", tiny_streaming_workdir, source]) == 0
    assert capsys.readouterr()[0].startswith(str(out)) and out.exists()
    for extra, words in ((["--stt", tiny_offline_workdir], "bidirectional"),
                         ([], "--via-text converts with --stt")):
        code = cli.main(base[:-2] + ["--out", str(tmp_path / "bad.wav"), *extra, source])
        err = [line for line in capsys.readouterr()[1].splitlines()
               if line.startswith("voxjax: error:")]
        assert code == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "bad.wav").exists()
