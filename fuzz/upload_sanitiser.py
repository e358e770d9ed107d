"""Fuzz target for the upload sanitiser (media/images.py, media/audio.py) with atheris (libFuzzer for Python).

Every input is handed to the function its first byte picks: `process_image`, `open_upright`, `process_audio` or
`process_voice`. Each must either return a cleaned file or refuse with `MediaError`; any other exception, a hang
or a crash in a native decoder is a finding. What is returned is checked too: an image re-opens with no EXIF, a
sound re-opens with audio streams only.

    .venv/bin/python fuzz/upload_sanitiser.py --seeds var/fuzz-seeds        # write the seed files, then stop
    nice -n 10 .venv/bin/python fuzz/upload_sanitiser.py -max_total_time=600 -rss_limit_mb=2048 \\
        -timeout=20 var/fuzz-corpus var/fuzz-seeds                          # fuzz for ten minutes

libFuzzer's own flags follow (`-runs=N`, `-max_len=…`, `-jobs=…`); findings are written as `crash-*`,
`timeout-*` or `oom-*` files in the current directory. docs/security.md has the figures of a run.
"""

import io
import os
import sys
import warnings
from pathlib import Path

import atheris
import django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The sanitiser's refusals carry translated messages, which need Django's settings and apps.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
django.setup()

with atheris.instrument_imports():
    import av
    from PIL import Image

    from media.audio import process_audio, process_voice
    from media.errors import MediaError
    from media.images import open_upright, process_image

# Pillow warns about every damaged EXIF block it skips; a fuzzer makes thousands, and they are not findings.
warnings.filterwarnings("ignore", category=UserWarning, module="PIL")

# Small limits: what matters is the parsing, and a fuzzer should not spend its time on big outputs.
_IMAGE_LIMITS = {"max_bytes": 2 * 1024 * 1024, "max_pixels": 4_000_000, "max_side": 512}


def _check_image(content: bytes) -> None:
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        if len(image.getexif()):
            raise AssertionError("a cleaned image kept EXIF")


def _check_sound(content: bytes) -> None:
    with av.open(io.BytesIO(content)) as container:
        if any(stream.type != "audio" for stream in container.streams):
            raise AssertionError("a cleaned sound kept a stream that is not audio")


def sanitise(data: bytes) -> None:
    """One input through one entry point of the sanitiser; raises only on a finding."""
    if not data:
        return
    choice, payload = data[0] % 4, data[1:]
    try:
        if choice == 0:
            image = process_image(payload, **_IMAGE_LIMITS)
            _check_image(image.content)
            _check_image(image.thumb)
        elif choice == 1:
            open_upright(payload, max_bytes=_IMAGE_LIMITS["max_bytes"], max_pixels=_IMAGE_LIMITS["max_pixels"])
        elif choice == 2:
            _check_sound(process_audio(payload, max_bytes=2 * 1024 * 1024, max_seconds=20).content)
        else:
            _check_sound(process_voice(payload, max_bytes=2 * 1024 * 1024, max_seconds=10).content)
    except MediaError:
        pass  # refused, with a code: what a bad file should get


def write_seeds(folder: Path) -> None:
    """Small valid files of every accepted format, each prefixed with the byte that picks its entry point."""
    from tests import hostile_files as make

    folder.mkdir(parents=True, exist_ok=True)
    images = {
        "jpeg-gps": make.jpeg_with_gps_exif(),
        "jpeg-xmp": make.jpeg_with_xmp(),
        "png": make.png_with_location(),
        "webp": make.webp_with_location(),
        "gif": make.gif_frame_bomb(frames=3),
    }
    sounds = {"flac": make.flac_with_location(0.2), "mp3": make.mp3_with_id3(0.2), "wav": make.wav(0.2)}
    for name, data in images.items():
        (folder / f"image-{name}").write_bytes(b"\x00" + data)
        (folder / f"upright-{name}").write_bytes(b"\x01" + data)
    for name, data in sounds.items():
        (folder / f"song-{name}").write_bytes(b"\x02" + data)
        (folder / f"voice-{name}").write_bytes(b"\x03" + data)
    (folder / "voice-webm").write_bytes(b"\x03" + make.webm_without_length(0.2))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        write_seeds(Path(sys.argv[2]))
        return
    atheris.Setup(sys.argv, sanitise)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
