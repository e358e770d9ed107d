"""The web process stays small: the speech recogniser (pocketsphinx, its models) loads in the task worker only, and
the media libraries (PyAV for sounds, pillow-heif for HEIC photos) with the first upload that needs them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports the ASGI app as the server does, then every view and API route (by walking the URL patterns),
# as the first requests would; prints whether the recogniser came in along the way.
PROBE = """
import sys
import same.asgi
from django.urls import URLResolver, get_resolver

def walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            walk(pattern.url_patterns)
        else:
            pattern.callback

walk(get_resolver().url_patterns)
import api.api, chat.realtime, core.realtime  # noqa: E401
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "pocketsphinx" or name == "media.speech")
media = sorted(name for name in sys.modules if name.split(".")[0] in {"av", "pillow_heif"} or name == "media.audio")
print("views loaded:", "posts.views" in sys.modules and "chat.views" in sys.modules)
print("speech modules:", loaded)
print("media modules:", media)
"""


def run_probe(code: str, var_dir) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter with the production settings (nothing imported yet), which must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "SAME_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "same.settings"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_asgi_app_and_every_view_load_without_the_speech_recogniser(tmp_path):
    result = run_probe(PROBE, tmp_path)
    assert "views loaded: True" in result.stdout
    assert "speech modules: []" in result.stdout
    assert "media modules: []" in result.stdout


def test_the_probe_would_see_the_recogniser_if_a_view_imported_it(tmp_path):
    result = run_probe(PROBE.replace("import sys\n", "import sys\nimport media.speech\n", 1), tmp_path)
    assert "'pocketsphinx'" in result.stdout


def test_the_probe_would_see_the_media_libraries_if_a_view_imported_them(tmp_path):
    result = run_probe(PROBE.replace("import sys\n", "import sys\nimport media.audio\n", 1), tmp_path)
    assert "'av'" in result.stdout


def test_heic_is_registered_by_the_first_image_read_not_at_import(tmp_path):
    """pillow-heif comes in with the first picture read, and HEIC photos are still read then."""
    probe = (
        "import sys, io, django\n"
        "django.setup()\n"
        "from media import images\n"
        "print('before:', 'pillow_heif' in sys.modules)\n"
        "from PIL import Image\n"
        "buffer = io.BytesIO(); Image.new('RGB', (8, 8), 'red').save(buffer, 'PNG')\n"
        "images.process_image(buffer.getvalue())\n"
        "print('after:', 'pillow_heif' in sys.modules, 'HEIF' in Image.OPEN)\n"
    )
    result = run_probe(probe, tmp_path)
    assert "before: False" in result.stdout
    assert "after: True True" in result.stdout
