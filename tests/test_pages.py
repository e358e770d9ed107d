"""`core.pages.render_page`: a page rendered as django.shortcuts.render renders it, what it showed freed with it."""

import gc
import weakref

import pytest
from django.shortcuts import render
from django.test import RequestFactory

from core.pages import render_page
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


class Shown:
    """Something a page shows (a weak reference can watch it go)."""

    def __str__(self) -> str:
        return "shown <here>"


def _freed_without_the_collector(how) -> bool:
    request = RequestFactory().get("/")
    request.user = make_user()
    shown = Shown()
    watch = weakref.ref(shown)
    gc.disable()
    try:
        response = how(request, "pages/shown.html", {"shown": shown}, status=201)
        assert (response.status_code, response.content.decode()) == (201, "shown &lt;here&gt;\n")
        del response, shown
        return watch() is None
    finally:
        gc.enable()


@pytest.fixture
def page_template(settings, tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "shown.html").write_text("{{ shown }}\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]


def test_what_a_page_showed_goes_with_it(page_template):
    """django.shortcuts.render leaves the context to the garbage collector (its dicts and the Context hold each other);
    render_page answers the same and frees it by reference counting."""
    assert not _freed_without_the_collector(render)
    assert _freed_without_the_collector(render_page)


def test_the_test_clients_context_is_still_there(client):
    host = make_user()
    channel = make_channel(host=host)
    client.force_login(host)
    response = client.get(f"/c/{channel.public_id}")
    assert response.status_code == 200
    assert response.context["channel"] == channel
