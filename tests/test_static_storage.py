"""Static files as production serves them (collectstatic with the manifest storage): every name hashed, the
ES modules' imports included, so a page's scripts are all cached for a year and none waits on an unhashed one."""

import re
from pathlib import Path

from django.core.management import call_command


def test_module_imports_point_at_the_hashed_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "core.static_storage.StaticStorage"}}
    call_command("collectstatic", "--noinput", verbosity=0)
    root = Path(settings.STATIC_ROOT) / "js"
    [chat] = [p for p in root.glob("chat.*.js") if re.fullmatch(r"chat\.[0-9a-f]{12}\.js", p.name)]
    imported = re.findall(r'import\s*"\./([^"]+)"', chat.read_text())
    assert imported
    assert all(re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", name) for name in imported), imported
    assert all((root / name).exists() for name in imported)
