import array
import csv
import random
from pathlib import Path

import av
import pytest

from media import speech
from media.audio import to_pcm16k_mono
from media.errors import MediaError
from media.speech import PocketSphinxBackend, Transcript, get_backend, transcribe, transcribe_recording

CLIPS = Path(__file__).with_name("speech_phrases")


def clip(name: str) -> bytes:
    return (CLIPS / name).read_bytes()


def quiet_noise(seconds: float) -> bytes:
    noise = random.Random(7)
    return array.array("h", (round(noise.gauss(0, 30)) for _ in range(int(seconds * 16_000)))).tobytes()


def resampled(pcm: bytes, rate: int) -> bytes:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = 16_000
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in frames)


class FakeBackend:
    """Stands in for an operator's engine: hears the same words in everything."""

    def transcribe(self, pcm: bytes, *, sample_rate: int) -> Transcript:
        return Transcript(text="fake words", seconds=len(pcm) / (2 * sample_rate))


class TestTranscribeRecording:
    @pytest.mark.parametrize(
        ("name", "words"),
        [
            ("good-morning-everyone.en-us.140.opus", {"good", "morning"}),
            ("happy-birthday.en-us.140.opus", {"happy", "birthday"}),
            ("thank-you-so-much.en-us.140.opus", {"thank", "much"}),
            ("see-you-tomorrow.en-us.180.opus", {"tomorrow"}),
        ],
    )
    def test_clear_phrase(self, name, words):
        """Ensure that a clearly spoken caption comes back with its key words."""
        transcript = transcribe_recording(clip(name))
        assert words <= set(transcript.text.split()), transcript.text
        assert 1.0 < transcript.seconds < 10.5

    def test_silence_is_no_words(self):
        """Ensure that a recording with nobody speaking is an empty caption, not an error."""
        assert transcribe(b"\x00\x00" * 32_000).text == ""
        assert transcribe(quiet_noise(2.0)).text == ""

    def test_nothing_at_all(self):
        assert transcribe(b"") == Transcript(text="", seconds=0.0)

    def test_other_sample_rate(self):
        """Ensure that PCM at another rate is resampled for the engine rather than misheard."""
        pcm = to_pcm16k_mono(clip("happy-birthday.en-us.140.opus"))
        transcript = transcribe(resampled(pcm, 44_100), sample_rate=44_100)
        assert {"happy", "birthday"} <= set(transcript.text.split()), transcript.text
        assert transcript.seconds == pytest.approx(len(pcm) / 32_000, abs=0.01)

    def test_not_a_sound(self):
        """Ensure that a file that is not a sound is refused by the decoder with its own code."""
        with pytest.raises(MediaError) as refused:
            transcribe_recording(b"%PDF-1.7 this is not a recording at all")
        assert refused.value.code == "unsupported_format"

    def test_empty_file(self):
        with pytest.raises(MediaError) as refused:
            transcribe_recording(b"")
        assert refused.value.code == "empty_file"


class TestBackends:
    def test_backend_chosen_by_setting(self, settings):
        """Ensure that the class named by SPEECH_BACKEND does the transcribing."""
        settings.SPEECH_BACKEND = "tests.media.test_speech.FakeBackend"
        assert isinstance(get_backend(), FakeBackend)
        assert get_backend() is get_backend()
        assert transcribe_recording(clip("same-here.en-us.140.opus")).text == "fake words"

    def test_default_backend(self):
        assert isinstance(get_backend(), PocketSphinxBackend)

    def test_engine_failure(self):
        """Ensure that an engine that cannot start is a MediaError with a stable code, not a stack trace."""
        broken = PocketSphinxBackend(config={"hmm": "/nonexistent/acoustic-model"})
        with pytest.raises(MediaError) as failed:
            broken.transcribe(to_pcm16k_mono(clip("same-here.en-us.140.opus")))
        assert failed.value.code == "transcription_failed"

    def test_caption_backend(self):
        """Ensure that the caption-biased model builds, loads and hears a listed phrase."""
        backend = speech.CaptionPocketSphinxBackend()
        transcript = backend.transcribe(to_pcm16k_mono(clip("i-m-so-tired.en-gb.140.opus")))
        assert "tired" in transcript.text.split()


class TestPhraseSet:
    def test_every_clip_is_listed_and_small(self):
        """Ensure that phrases.tsv and the committed clips agree, and the set stays small."""
        with (CLIPS / "phrases.tsv").open(newline="") as tsv:
            rows = list(csv.DictReader(tsv, delimiter="\t"))
        assert {row["file"] for row in rows} == {path.name for path in CLIPS.glob("*.opus")}
        assert len({row["text"] for row in rows if row["set"] == "listed"}) >= 20
        assert len({row["voice"] for row in rows}) >= 2
        assert len({row["speed"] for row in rows}) >= 2
        assert sum(path.stat().st_size for path in CLIPS.glob("*.opus")) < 1_500_000
