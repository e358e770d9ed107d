"""Speech to text for voice clips (a sticker's caption, a voice message's transcript), behind a backend chosen by `settings.SPEECH_BACKEND`.

The default backend is PocketSphinx with the US English model its wheel ships: nothing is downloaded, nothing
leaves the machine, and it is fast on a CPU, but it is English only and makes many mistakes (docs/speech.md
has the measurements). An operator wanting a stronger engine writes a class with the `SpeechBackend` method
and names it in the setting.

Silence, or sound with no words in it, is an empty transcript, not an error: the caption is then left empty.
"""

import array
import functools
import math
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import av
import pocketsphinx
from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from media.audio import to_pcm16k_mono
from media.errors import MediaError

SAMPLE_RATE = 16_000
# A sticker's voice clip is at most 10 seconds; the decoder gets a moment of slack for encoder padding.
RECORDING_MAX_SECONDS = 10.5
CAPTION_PHRASES = Path(__file__).with_name("caption_phrases.txt")

_SAMPLE_BYTES = 2


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float  # length of the sound that was heard
    confidence: float | None = None  # 0..1 where the engine gives one


class SpeechBackend(Protocol):
    def transcribe(self, pcm: bytes, *, sample_rate: int) -> Transcript:
        """The words in `pcm` (16-bit little-endian mono at `sample_rate`); raises MediaError when the engine fails."""
        ...


def transcribe(pcm: bytes, *, sample_rate: int = SAMPLE_RATE) -> Transcript:
    """The words spoken in raw 16-bit mono PCM, by the configured backend."""
    return get_backend().transcribe(pcm, sample_rate=sample_rate)


def transcribe_recording(data: bytes, *, max_seconds: float = RECORDING_MAX_SECONDS) -> Transcript:
    """The words spoken in the first `max_seconds` of a recording (WebM/Opus, Ogg, MP4/AAC, WAV, MP3 or FLAC).

    Raises MediaError: the decoder's refusals (empty_file, unsupported_format, corrupt_file…) or
    transcription_failed.
    """
    return transcribe(to_pcm16k_mono(data, max_seconds=max_seconds))


def get_backend() -> SpeechBackend:
    """The backend named by `settings.SPEECH_BACKEND`, made once per process (models are slow to load)."""
    return _backend(settings.SPEECH_BACKEND)


@functools.cache
def _backend(dotted_path: str) -> SpeechBackend:
    backend_class = import_string(dotted_path)
    backend: SpeechBackend = backend_class()
    return backend


class PocketSphinxBackend:
    """PocketSphinx's US English model, with the sound trimmed to its speech and brought to one level first.

    The decoder is made on first use and shared by the threads of the process, one utterance at a time:
    a decoder holds the whole model (~140 MB) and takes most of a second to make, and a short clip decodes
    in a fraction of its length, so a lock costs less than a decoder per thread.
    """

    # PocketSphinx's defaults but for the second (flat-lexicon) pass, which on the benchmark's clips cost 15% of
    # the time and changed no word error (docs/speech.md). Narrower beams were faster and much less accurate.
    DEFAULT_CONFIG: Mapping[str, str | int | float | bool] = {"fwdflat": False}

    def __init__(
        self,
        *,
        config: Mapping[str, str | int | float | bool] | None = None,
        trim: bool = True,
        normalise: bool = True,
    ) -> None:
        self.config = dict(self.DEFAULT_CONFIG if config is None else config)
        self.trim = trim
        self.normalise = normalise
        self._lock = threading.Lock()
        self._decoder: Any = None

    def transcribe(self, pcm: bytes, *, sample_rate: int = SAMPLE_RATE) -> Transcript:
        if sample_rate != SAMPLE_RATE:
            pcm = _resampled(pcm, sample_rate)
        pcm = pcm[: len(pcm) - len(pcm) % _SAMPLE_BYTES]
        seconds = len(pcm) / (SAMPLE_RATE * _SAMPLE_BYTES)
        if self.normalise:
            pcm = _normalised(pcm)
        if self.trim:
            pcm = _speech_only(pcm)
        if not pcm:
            return Transcript(text="", seconds=seconds)
        with self._lock:
            text = self._decode(pcm)
        # PocketSphinx's posterior is only meaningful with lattice rescoring, so no confidence is given.
        return Transcript(text=text, seconds=seconds)

    def _decode(self, pcm: bytes) -> str:
        try:
            if self._decoder is None:
                self._decoder = self._make_decoder()
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, no_search=False, full_utt=True)
            self._decoder.end_utt()
            words = [segment.word for segment in self._decoder.seg()]
        except (RuntimeError, ValueError, OSError) as exc:
            self._decoder = None  # made afresh next time rather than reused in an unknown state
            raise MediaError("transcription_failed", _("We couldn't make out the words in this recording.")) from exc
        return " ".join(_spoken_words(words))

    def _make_decoder(self) -> Any:
        return pocketsphinx.Decoder(loglevel="FATAL", **self.config)


def _spoken_words(words: list[str]) -> list[str]:
    # Segments include silences (<s>, </s>, <sil>), fillers ([NOISE], [BREATH]…) and alternate
    # pronunciations marked "word(2)".
    spoken = []
    for word in words:
        if word.startswith(("<", "[", "+")):
            continue
        spoken.append(word.split("(", 1)[0])
    return spoken


# --- the sound before the decoder --------------------------------------------------------------------------

_PEAK_TARGET = 0.5  # of full scale: loud enough for the VAD, far from clipping
_VAD_FRAME_S = 0.03
_SPEECH_MARGIN_S = 0.25  # kept either side of the speech found, so soft first and last sounds survive


def _normalised(pcm: bytes) -> bytes:
    samples = array.array("h")
    samples.frombytes(pcm)
    if not samples:
        return pcm
    mean = sum(samples) / len(samples)
    peak = max(max(samples) - mean, mean - min(samples))
    if peak < 1:
        return pcm
    gain = _PEAK_TARGET * 32767 / peak
    return array.array("h", (max(-32768, min(32767, round((sample - mean) * gain))) for sample in samples)).tobytes()


def _speech_only(pcm: bytes) -> bytes:
    """`pcm` from a little before its first speech to a little after its last; nothing when there is none."""
    vad = pocketsphinx.Vad(pocketsphinx.Vad.LOOSE, SAMPLE_RATE, _VAD_FRAME_S)
    frame_bytes = vad.frame_bytes
    speech = [
        start
        for start in range(0, len(pcm) - frame_bytes + 1, frame_bytes)
        if vad.is_speech(pcm[start : start + frame_bytes])
    ]
    if not speech:
        return b""
    margin = int(_SPEECH_MARGIN_S * SAMPLE_RATE) * _SAMPLE_BYTES
    return pcm[max(0, speech[0] - margin) : speech[-1] + frame_bytes + margin]


def _resampled(pcm: bytes, sample_rate: int) -> bytes:
    if sample_rate <= 0:
        raise MediaError("transcription_failed", _("This recording has no sample rate."))
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // _SAMPLE_BYTES)
    frame.planes[0].update(pcm[: frame.samples * _SAMPLE_BYTES])
    frame.sample_rate = sample_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(bytes(out.planes[0])[: out.samples * _SAMPLE_BYTES] for out in frames)


class CaptionPocketSphinxBackend(PocketSphinxBackend):
    """PocketSphinx with a language model biased towards the things people say on stickers.

    The model's bigrams and trigrams come from a hand-written list of caption phrases (CAPTION_PHRASES);
    its unigrams mix that list's with those of PocketSphinx's general model, so that every word the
    general model knows can still be recognised, but without the general model's word sequences.
    Phrases in the list are recognised far better and everything else far worse (docs/speech.md), so it
    suits a product that offers a fixed set of captions, not free speech.
    """

    def __init__(
        self,
        *,
        config: Mapping[str, str | int | float | bool] | None = None,
        trim: bool = True,
        normalise: bool = True,
        phrases: Path = CAPTION_PHRASES,
        phrase_weight: float = 0.5,
    ) -> None:
        super().__init__(config=config, trim=trim, normalise=normalise)
        self.phrases = phrases
        self.phrase_weight = phrase_weight

    def _make_decoder(self) -> Any:
        with tempfile.TemporaryDirectory(prefix="media-speech-") as folder:
            path = Path(folder) / "captions.lm"
            path.write_text(caption_arpa(self.phrases.read_text(), phrase_weight=self.phrase_weight))
            # The decoder reads the whole model in while it is made, so the file can go afterwards.
            return pocketsphinx.Decoder(loglevel="FATAL", **{**self.config, "lm": str(path)})


_DISCOUNT = 0.5  # absolute discount taken from each seen n-gram's count for the unseen ones
_LOG10_OF_LOGMATH_UNIT = math.log10(1.0001)  # PocketSphinx's log base


def caption_arpa(phrase_text: str, *, phrase_weight: float) -> str:
    """A backoff trigram model in ARPA text: the phrases' n-grams over a mix of their and the general unigrams."""
    sentences = [
        ["<s>", *words, "</s>"]
        for line in phrase_text.splitlines()
        if not line.startswith("#") and (words := re.findall(r"[a-z']+", line.lower()))
    ]
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(3)]
    for sentence in sentences:
        for order in range(3):
            for start in range(len(sentence) - order):
                counts[order][tuple(sentence[start : start + order + 1])] += 1
    general = pocketsphinx.NGramModel(
        pocketsphinx.Config(), pocketsphinx.LogMath(), pocketsphinx.get_model_path("en-us/en-us.lm.bin")
    )
    unknown = general.prob(["<no-such-word>"])
    vocabulary = {word for (word,) in counts[0]} - {"<s>"}
    with open(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict")) as dictionary:
        known = {line.split(" ", 1)[0].split("(", 1)[0] for line in dictionary}
    general_p = {}
    for word in known | vocabulary:
        logprob = general.prob([word])
        if logprob != unknown:
            general_p[word] = 10 ** (logprob * _LOG10_OF_LOGMATH_UNIT)
    general_p["</s>"] = 10 ** (general.prob(["</s>"]) * _LOG10_OF_LOGMATH_UNIT)
    general_total = sum(general_p.values())
    caption_total = sum(count for (word,), count in counts[0].items() if word != "<s>")
    unigram = {
        word: phrase_weight * counts[0][(word,)] / caption_total
        + (1 - phrase_weight) * general_p.get(word, 0) / general_total
        for word in vocabulary | set(general_p)
    }
    probs: list[dict[tuple[str, ...], float]] = [{(word,): p for word, p in unigram.items()}, {}, {}]
    backoffs: list[dict[tuple[str, ...], float]] = [{}, {}, {}]
    for order in (1, 2):
        by_history: dict[tuple[str, ...], list[tuple[tuple[str, ...], int]]] = {}
        for ngram, count in counts[order].items():
            by_history.setdefault(ngram[:-1], []).append((ngram, count))
        for history, seen in by_history.items():
            history_count = sum(count for _ngram, count in seen)
            for ngram, count in seen:
                probs[order][ngram] = (count - _DISCOUNT) / history_count
            left = 1 - sum(probs[order][ngram] for ngram, _count in seen)
            lower_seen = sum(_lower_prob(probs, ngram[1:]) for ngram, _count in seen)
            backoffs[order - 1][history] = left / max(1e-9, 1 - lower_seen)
    lines = ["\\data\\", *(f"ngram {order + 1}={len(probs[order]) + (order == 0)}" for order in range(3)), ""]
    for order in range(3):
        lines.append(f"\\{order + 1}-grams:")
        if order == 0:
            lines.append(f"-99\t<s>\t{math.log10(backoffs[0].get(('<s>',), 1.0)):.4f}")
        for ngram, p in sorted(probs[order].items()):
            entry = f"{math.log10(p):.4f}\t{' '.join(ngram)}"
            if order < 2 and ngram in backoffs[order]:
                entry += f"\t{math.log10(max(backoffs[order][ngram], 1e-9)):.4f}"
            lines.append(entry)
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"


def _lower_prob(probs: list[dict[tuple[str, ...], float]], ngram: tuple[str, ...]) -> float:
    # Only called for n-grams seen in the phrases, whose lower orders were seen too.
    return probs[len(ngram) - 1].get(ngram, 0.0)
