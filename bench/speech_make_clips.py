"""Record the speech benchmark's clips with espeak-ng: every phrase, in every voice, at every speed.

    apt-get install espeak-ng        # once
    .venv/bin/python bench/speech_make_clips.py

Writes tests/media/speech_phrases/*.opus (16 kHz mono Ogg/Opus at 16 kbit/s, as a browser might send) and
phrases.tsv, replacing what is there. Each clip is padded with a little quiet noise before and after the
speech (a person presses record, then speaks) and played at a level chosen per clip, so that trimming and
level normalisation have real work to do; the noise and levels come from a fixed seed, so the set is the
same each time it is made with the same espeak-ng and libopus.

Two sets: "listed" phrases are also in media/caption_phrases.txt (the phrase list a biased language model
may be built from); "held_out" phrases are not, and measure what the bias does to everything else.
"""

import array
import io
import random
import re
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "media" / "speech_phrases"
CAPTION_PHRASES = ROOT / "media" / "caption_phrases.txt"

VOICES = ("en-us", "en-us+f3", "en-gb")
SPEEDS = (140, 180)  # words per minute; espeak-ng's default is 175
RATE = 16_000
BIT_RATE = 16_000
LEAD_S = (0.3, 0.8)
TAIL_S = (0.4, 1.0)
PEAK_DBFS = (-24.0, -3.0)
NOISE_DBFS = -60.0
SEED = 20260

LISTED = (
    "good morning everyone",
    "I can't sleep again",
    "same here",
    "miss you",
    "happy birthday",
    "on my way",
    "I'm so tired",
    "good night",
    "thank you so much",
    "love you",
    "see you soon",
    "what a day",
    "I'm hungry",
    "let's go",
    "that's so funny",
    "I'm bored",
    "call me later",
    "congratulations",
    "feel better soon",
    "so proud of you",
    "don't worry",
    "take care",
    "I'm sorry",
    "no way",
    "me too",
    "happy friday",
    "see you tomorrow",
    "I need coffee",
    "running late",
    "best day ever",
)
HELD_OUT = (
    "the weather is lovely today",
    "my cat knocked over the plant",
    "pizza for dinner tonight",
    "waiting for the bus",
    "I finally finished my homework",
    "rainy sunday morning",
    "the train is delayed again",
    "learning to play guitar",
    "my phone battery died",
    "first day at the new job",
    "can you believe this",
    "lost my keys again",
)


def main() -> None:
    listed = {_words(line) for line in CAPTION_PHRASES.read_text().splitlines() if line and not line.startswith("#")}
    missing = [phrase for phrase in LISTED if _words(phrase) not in listed]
    leaked = [phrase for phrase in HELD_OUT if _words(phrase) in listed]
    if missing or leaked:
        sys.exit(f"caption_phrases.txt must list every listed phrase and no held-out one: {missing=} {leaked=}")
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.opus"):
        old.unlink()
    rng = random.Random(SEED)
    rows = ["file\tvoice\tspeed\tset\ttext"]
    total = 0
    for kind, phrases in (("listed", LISTED), ("held_out", HELD_OUT)):
        for phrase in phrases:
            for voice in VOICES:
                for speed in SPEEDS:
                    name = f"{_slug(phrase)}.{voice.replace('+', '-')}.{speed}.opus"
                    content = _clip(phrase, voice=voice, speed=speed, rng=rng)
                    (OUT / name).write_bytes(content)
                    total += len(content)
                    rows.append(f"{name}\t{voice}\t{speed}\t{kind}\t{phrase}")
    (OUT / "phrases.tsv").write_text("\n".join(rows) + "\n")
    print(f"{len(rows) - 1} clips, {total / 1024:.0f} KiB, in {OUT.relative_to(ROOT)}")


def _clip(phrase: str, *, voice: str, speed: int, rng: random.Random) -> bytes:
    speech = _spoken(phrase, voice=voice, speed=speed)
    peak = max(1, max(abs(sample) for sample in speech))
    gain = 32767 * 10 ** (rng.uniform(*PEAK_DBFS) / 20) / peak
    noise = 32767 * 10 ** (NOISE_DBFS / 20)
    lead = int(rng.uniform(*LEAD_S) * RATE)
    tail = int(rng.uniform(*TAIL_S) * RATE)
    samples = array.array("h", [0] * lead) + array.array("h", (int(sample * gain) for sample in speech))
    samples += array.array("h", [0] * tail)
    for index, sample in enumerate(samples):
        samples[index] = max(-32768, min(32767, sample + round(rng.gauss(0, noise))))
    return _opus(samples)


def _spoken(phrase: str, *, voice: str, speed: int) -> array.array[int]:
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav_file:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", wav_file.name, phrase], check=True)
        with wave.open(wav_file.name) as wav:
            rate = wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    return _resampled(raw, rate)


def _resampled(raw: bytes, rate: int) -> array.array[int]:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(raw) // 2)
    frame.planes[0].update(raw)
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    samples = array.array("h")
    for out in [*resampler.resample(frame), *resampler.resample(None)]:
        samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return samples


def _opus(samples: array.array[int]) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg", options={"fflags": "+bitexact"}) as output:
        stream = output.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = BIT_RATE
        step = RATE // 50
        for start in range(0, len(samples), step):
            chunk = samples[start : start + step]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk))
            frame.planes[0].update(chunk.tobytes())
            frame.sample_rate = RATE
            frame.pts = start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]+", "-", text.lower()).strip("-")


if __name__ == "__main__":
    main()
