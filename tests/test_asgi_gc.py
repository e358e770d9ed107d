"""The ASGI application freezes what start-up made, so the cyclic garbage collector's full passes skip it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, time
import same.asgi
frozen = gc.get_freeze_count()
start = time.process_time()
gc.collect()
print(frozen, len(gc.get_objects()), (time.process_time() - start) * 1000)
"""


def test_start_up_objects_are_frozen_out_of_the_collectors_full_passes():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    frozen, tracked, _collect_ms = (float(value) for value in out.split())
    assert frozen > 50_000  # modules, classes, settings, URL patterns…
    assert tracked < frozen / 10  # what a full pass still walks: what was made after start-up
