"""core.pages.render: a page as django.shortcuts.render writes it, whose context goes with the response rather than
waiting for the cyclic garbage collector."""

import gc
import re
import weakref

import pytest
from django.shortcuts import render as django_render
from django.test import RequestFactory

from core import pages


class Held:
    def __str__(self) -> str:
        return "held <value>"


@pytest.fixture
def no_collector():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _page(render_with) -> weakref.ref:
    held = Held()
    request = RequestFactory().get("/")
    response = render_with(request, "404.html", {"held": held, "request_path": "/x"})
    assert b"Nothing here" in response.content
    return weakref.ref(held)


def test_the_pages_objects_go_with_the_response(no_collector):
    held = _page(pages.render)
    assert held() is None


def test_djangos_render_leaves_them_to_the_collector(no_collector):
    """The control: the same page by django.shortcuts.render keeps its context alive until a collection."""
    held = _page(django_render)
    assert held() is not None
    gc.collect()
    assert held() is None


def _unmasked(content: bytes) -> str:
    """The page without what differs on every render: the CSRF token's mask, the CSP nonce."""
    text = re.sub(r'(X-CSRFToken": ")[^"]+', r"\1T", content.decode())
    return re.sub(r'nonce="[^"]+"', 'nonce="N"', text)


def test_the_page_is_the_same_as_djangos(rf):
    request = rf.get("/some/where")
    context = {"held": Held(), "request_path": "/x"}
    ours = _unmasked(pages.render(request, "404.html", context).content)
    assert ours == _unmasked(django_render(request, "404.html", context).content)
    assert "Nothing here" in ours
    assert pages.render(request, "404.html", context, status=404).status_code == 404
