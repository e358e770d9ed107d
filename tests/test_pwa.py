"""The installable app at the HTTP level: the manifest, the service worker's script and what it may cache,
the offline page. tests/browser/test_pwa_e2e.py checks the same in Chromium."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from core import pwa
from tests.factories import make_user

ICONS = Path(settings.BASE_DIR) / "static" / "icons"


def sw_config(body: str) -> dict[str, object]:
    match = re.search(r"^const CONFIG = (\{.*\});$", body, re.MULTILINE)
    assert match, body[:400]
    return json.loads(match.group(1))


@pytest.mark.django_db
class TestServiceWorkerScript:
    def test_served_at_the_root_as_javascript_and_never_cached_long(self, client):
        answer = client.get("/sw.js")
        assert answer.status_code == 200
        assert answer["Content-Type"] == "text/javascript; charset=utf-8"
        assert answer["Service-Worker-Allowed"] == "/"
        assert "no-cache" in answer["Cache-Control"]
        assert "max-age=0" in answer["Cache-Control"]

    def test_precaches_the_offline_page_and_static_files_only(self, client):
        """Ensure that the worker's list holds the shell (CSS, JS, icons, the htmx build) and nothing else:
        no page, no API, no media; the admin's files are not the app's shell either."""
        config = sw_config(client.get("/sw.js").content.decode())
        assert config["offline"] == "/offline"
        precache = config["precache"]
        assert isinstance(precache, list)
        assert all(url.startswith("/static/") for url in precache)
        for expected in ("css/same.css", "js/app.js", "js/push.js", "js/offline.js", "icons/icon-192.png"):
            assert f"/static/{expected}" in precache
        assert any(re.fullmatch(r"/static/django_htmx/htmx-2(\.min)?\.js", url) for url in precache)
        assert not any(url.startswith(("/static/admin/", "/static/ninja/")) for url in precache)
        assert re.fullmatch(r"[0-9a-f]{16}", str(config["version"]))

    def test_the_worker_leaves_private_paths_to_the_network(self, client):
        """The script's own rules: only navigations (never stored) and /static/ are answered by the worker."""
        body = client.get("/sw.js").content.decode()
        assert 'request.mode === "navigate"' in body
        assert body.count("cache.put(") == 1  # in staticFirst only, behind the /static/ check
        assert "isStatic(url)" in body

    def test_the_version_follows_the_deploy(self, client, settings):
        first = sw_config(client.get("/sw.js").content.decode())["version"]
        settings.PWA_VERSION = "next-release"
        assert sw_config(client.get("/sw.js").content.decode())["version"] == "next-release"
        settings.PWA_VERSION = None
        assert sw_config(client.get("/sw.js").content.decode())["version"] == first

    def test_a_changed_static_file_changes_the_version(self, monkeypatch, tmp_path):
        pwa.shell.cache_clear()
        try:
            before = pwa.shell()[0]
            changed = tmp_path / "same.css"
            changed.write_text("body { color: red }")
            files = [(name, changed if name == "css/same.css" else path) for name, path in pwa._own_static_files()]
            monkeypatch.setattr(pwa, "_own_static_files", lambda: files)
            pwa.shell.cache_clear()
            assert pwa.shell()[0] != before
        finally:
            pwa.shell.cache_clear()


@pytest.mark.django_db
class TestManifest:
    def test_the_manifest_describes_a_standalone_app_with_its_icons(self, client):
        answer = client.get("/manifest.webmanifest")
        assert answer.status_code == 200
        assert answer["Content-Type"] == "application/manifest+json"
        manifest = answer.json()
        assert manifest["name"] == "same"
        assert manifest["short_name"] == "same"
        assert manifest["scope"] == "/"
        assert manifest["start_url"].startswith("/")
        assert manifest["display"] == "standalone"
        assert manifest["theme_color"] == manifest["background_color"] == "#f6f3ee"
        sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
        assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}

    @pytest.mark.parametrize(
        ("name", "size", "mode"),
        [
            ("icon-192.png", 192, "RGBA"),
            ("icon-512.png", 512, "RGBA"),
            ("maskable-512.png", 512, "RGBA"),
            ("apple-touch-icon.png", 180, "RGB"),
        ],
    )
    def test_the_icons_are_the_sizes_they_claim(self, name, size, mode):
        with Image.open(ICONS / name) as icon:
            assert icon.format == "PNG"
            assert icon.size == (size, size)
            assert icon.mode == mode
            if name.startswith(("maskable", "apple")):
                # Full bleed: the corners are the page's cream, not transparent (a mask or iOS cuts them).
                assert icon.convert("RGBA").getpixel((0, 0)) == (246, 243, 238, 255)

    def test_every_page_links_the_manifest_and_the_phone_tags(self, client):
        client.force_login(make_user())
        page = client.get("/").content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page
        assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in page
        assert '<meta name="apple-mobile-web-app-capable" content="yes">' in page
        assert '<meta name="theme-color" content="#f6f3ee"' in page
        assert "data-update-bar hidden" in page


@pytest.mark.django_db
class TestOfflinePage:
    def test_nothing_of_the_person_is_in_it(self, client):
        """Ensure that the offline page (which phones cache) is the same for everyone: no name, no token, no cookie."""
        person = make_user(username="quietmaple", email="quiet@example.org")
        client.force_login(person)
        answer = client.get("/offline")
        assert answer.status_code == 200
        page = answer.content.decode()
        assert "You're offline" in page or "You&#x27;re offline" in page
        assert "Try again" in page
        for private in ("quietmaple", "quiet@example.org", "csrfmiddlewaretoken", "X-CSRFToken"):
            assert private not in page
        assert "csrftoken" not in answer.cookies
