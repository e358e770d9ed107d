"""A page rendered from a template, leaving no reference cycle behind.

Django's template `Context` and each `ContextDict` pushed on it refer to each other, so once a page was rendered
everything its context held — a channel page's 20 posts, their authors and rows, the composer's form — stayed
until the cyclic garbage collector found it (~250 objects a page), where a JSON answer's objects go as soon as it
is written. Each collection pass walks every object still waiting: ~0.3 ms of a channel page's CPU on the server
(docs/performance.md, "The channel page at ≥ 60 % of its bare endpoint"). `render` is django.shortcuts.render
with the context's list of dicts emptied once the page is written: the cycle is broken and the page's objects go
with the response.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.template.context import make_context


def render(
    request: HttpRequest, template_name: str, context: dict[str, Any] | None = None, *, status: int | None = None
) -> HttpResponse:
    """As django.shortcuts.render (Django's template engine): the template with this context and the request's
    context processors, in a response."""
    template = loader.get_template(template_name)
    page = make_context(context, request, autoescape=template.backend.engine.autoescape)  # type: ignore[attr-defined]
    try:
        content = template.template.render(page)  # type: ignore[attr-defined]
    finally:
        page.dicts.clear()  # the ContextDicts refer back to `page`: without them, nothing waits for the collector
    return HttpResponse(content, status=status)
