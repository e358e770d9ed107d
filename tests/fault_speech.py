"""Speech backends for the killed-worker test (tests/test_fault_worker.py), set through SPEECH_BACKEND."""

import os
import time
from pathlib import Path

from media.speech import Transcript


class StallingBackend:
    """Says it has started (a file at FAULT_MARKER), then hears for a minute: long enough to be killed."""

    def transcribe(self, pcm: bytes, *, sample_rate: int) -> Transcript:
        Path(os.environ["FAULT_MARKER"]).write_text(str(os.getpid()))
        time.sleep(60)
        return Transcript(text="too late", seconds=1.0)


class FixedBackend:
    def transcribe(self, pcm: bytes, *, sample_rate: int) -> Transcript:
        return Transcript(text="hello from the rescue", seconds=1.0)
