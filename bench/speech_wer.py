"""Word error rate and real-time factor of speech recognition on the committed espeak-ng clips.

    .venv/bin/python bench/speech_wer.py                       # every variant, both phrase sets
    .venv/bin/python bench/speech_wer.py --variant default -v  # one variant, each clip's transcript
    .venv/bin/python bench/speech_wer.py --variant default --set lw=8 --set beam=1e-40
    .venv/bin/python bench/speech_wer.py --backend media.speech.PocketSphinxBackend

Each clip is decoded as the server would (media.audio.to_pcm16k_mono), then given to a backend made for the
variant. WER is (substitutions + deletions + insertions) / reference words, summed over the clips of a set,
after lower-casing and dropping punctuation other than apostrophes. RTF is the time spent in the backend's
transcribe() over the length of the sound, counted as CPU time of the worker process (--jobs of them) so that
other load on the machine does not inflate it; the model load is not counted.

Variants (see docs/speech.md):
  raw       PocketSphinx's defaults: the general US English LM, default beams, the sound as it came
  clean     raw + the level normalised and the silence before and after the speech trimmed
  default   clean + the tuned decoder settings: what media.speech.PocketSphinxBackend does
  captions  default + the caption-biased LM (media.speech.CaptionPocketSphinxBackend)
"""

import argparse
import csv
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")

from django.utils.module_loading import import_string

from media import speech
from media.audio import to_pcm16k_mono

CLIPS = Path(__file__).resolve().parent.parent / "tests" / "media" / "speech_phrases"
VARIANTS = ("raw", "clean", "default", "captions")


@dataclass(frozen=True)
class Result:
    file: str
    voice: str
    speed: str
    kind: str
    reference: str
    hypothesis: str
    errors: int
    words: int
    audio_s: float
    busy_s: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=VARIANTS, action="append", help="repeatable; default: all")
    parser.add_argument("--backend", help="a backend's dotted path instead of the variants (made with no arguments)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--only", choices=("listed", "held_out"), help="one phrase set")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="every Nth clip only, for quick trials")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every clip that has an error")
    args = parser.parse_args()
    overrides = dict(_parsed(item) for item in args.overrides)
    rows = [row for row in _rows() if args.only in (None, row["set"])][:: args.every]
    names = [args.backend] if args.backend else (args.variant or list(VARIANTS))
    print(f"{len(rows)} clips, {sum(1 for row in rows if row['set'] == 'listed')} of them listed; {args.jobs} jobs")
    print(f"{'variant':<12} {'set':<9} {'WER':>6} {'sent.ok':>8} {'RTF':>6}")
    for name in names:
        started = time.perf_counter()
        with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(name, overrides)) as pool:
            results = list(pool.map(_run, rows, chunksize=4))
        for kind in ("listed", "held_out", "all"):
            chosen = [result for result in results if kind in ("all", result.kind)]
            if chosen:
                _report(name, kind, chosen)
        print(f"{'':<12} ({time.perf_counter() - started:.0f} s wall)")
        if args.verbose:
            for result in results:
                if result.errors:
                    print(f"  {result.file:<52} {result.reference!r} -> {result.hypothesis!r}")


def _report(name: str, kind: str, results: list[Result]) -> None:
    errors = sum(result.errors for result in results)
    words = sum(result.words for result in results)
    exact = sum(1 for result in results if not result.errors)
    rtf = sum(result.busy_s for result in results) / sum(result.audio_s for result in results)
    print(f"{name[-12:]:<12} {kind:<9} {errors / words:>6.1%} {exact / len(results):>8.0%} {rtf:>6.3f}")


_backend: speech.SpeechBackend | None = None


def _init(name: str, overrides: dict[str, str | float | int | bool]) -> None:
    global _backend  # one backend per worker process, made once
    _backend = _made(name, overrides)
    # Load the model before the clock starts: the first transcription would otherwise pay for it.
    _backend.transcribe(b"\x00\x00" * speech.SAMPLE_RATE, sample_rate=speech.SAMPLE_RATE)


def _made(name: str, overrides: dict[str, str | float | int | bool]) -> speech.SpeechBackend:
    if name not in VARIANTS:
        return import_string(name)()  # type: ignore[no-any-return]
    if name == "raw":
        return speech.PocketSphinxBackend(config=overrides, trim=False, normalise=False)
    if name == "clean":
        return speech.PocketSphinxBackend(config=overrides)
    backend_class = speech.CaptionPocketSphinxBackend if name == "captions" else speech.PocketSphinxBackend
    return backend_class(config={**backend_class.DEFAULT_CONFIG, **overrides})


def _run(row: dict[str, str]) -> Result:
    assert _backend is not None
    pcm = to_pcm16k_mono((CLIPS / row["file"]).read_bytes())
    started = time.process_time()
    transcript = _backend.transcribe(pcm, sample_rate=speech.SAMPLE_RATE)
    busy = time.process_time() - started
    reference, hypothesis = _words(row["text"]), _words(transcript.text)
    return Result(
        file=row["file"],
        voice=row["voice"],
        speed=row["speed"],
        kind=row["set"],
        reference=" ".join(reference),
        hypothesis=" ".join(hypothesis),
        errors=word_errors(reference, hypothesis),
        words=len(reference),
        audio_s=len(pcm) / (speech.SAMPLE_RATE * 2),
        busy_s=busy,
    )


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words: the fewest substitutions, deletions and insertions."""
    previous = list(range(len(hypothesis) + 1))
    for index, word in enumerate(reference, start=1):
        current = [index]
        for other_index, other in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[other_index] + 1, current[other_index - 1] + 1, previous[other_index - 1] + (word != other)
                )
            )
        previous = current
    return previous[-1]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _rows() -> list[dict[str, str]]:
    with (CLIPS / "phrases.tsv").open(newline="") as tsv:
        return list(csv.DictReader(tsv, delimiter="\t"))


def _parsed(item: str) -> tuple[str, str | float | int | bool]:
    key, _, value = item.partition("=")
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, {"yes": True, "no": False}.get(value, value)


if __name__ == "__main__":
    main()
