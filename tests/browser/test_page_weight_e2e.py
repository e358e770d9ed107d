"""Home's first load stays light on a phone: HTML + CSS + JS under 150 KB on the wire, pages gzipped, no
render-blocking resource from another site. (bench/page_weight.py measures it as deployed.)"""

import pytest
from playwright.sync_api import Response

from interests.services import channel_join
from posts.services import post_create_text
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.usefixtures("media_root")

BUDGET = 150 * 1024


def test_home_first_load_is_under_the_budget_and_gzipped(signed_in, contexts):
    reader = make_user()
    for index in range(3):
        channel = make_channel(name=f"Night owls {index}")
        assert channel.host is not None
        for n in range(10):
            post_create_text(author=channel.host, channel=channel, text=f"Still awake at 3, round {n}. " * 6)
        channel_join(user=reader, channel=channel)
    page = signed_in(reader)
    context = page.context
    fresh = context.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=context.storage_state()
    )  # the same login, an empty cache: a first load
    try:
        home = fresh.new_page()
        responses: list[Response] = []
        home.on("response", lambda response: responses.append(response))
        home.goto(contexts.base_url + "/", wait_until="networkidle")
        assert home.locator("li.post").count() == 20
        code = [r for r in responses if r.request.resource_type in {"document", "stylesheet", "script"}]
        document = next(r for r in code if r.request.resource_type == "document")
        assert document.headers.get("content-encoding") == "gzip"
        sizes = [r.request.sizes() for r in code]
        transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        assert any(r.request.resource_type == "stylesheet" for r in code)
        assert transferred < BUDGET, [(r.url, s["responseBodySize"]) for r, s in zip(code, sizes, strict=True)]
        # Nothing in <head> from another origin that would hold the first paint.
        blocking = home.evaluate(
            "() => [...document.querySelectorAll('head link[rel=stylesheet], head script:not([async]):not([defer])"
            ":not([type=module])')].map(e => e.href || e.src).filter(u => u && !u.startsWith(location.origin))"
        )
        assert blocking == []
    finally:
        fresh.close()
