"""`render_page`: django.shortcuts.render for the busiest pages, with the template context's reference cycle broken once
the page is written, so what the page showed is freed with it rather than left to the garbage collector.

Django's template Context holds its dicts, and each dict pushed on it (`ContextDict`: the view's context, the context
processors') holds the Context back: a cycle. Everything the view put in the context — a channel page's 20 posts,
their authors, photos and films, ~350 objects — then waits for the collector, whose passes it triggers: ~0.5 ms
each on this project's machine, one every four channel pages (Django 6.1's ModelState has a finalizer, which makes
collecting a model instance dear). Freed by reference counting, they cost nothing more (docs/performance.md).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist, loader
from django.template.backends.django import reraise
from django.template.context import make_context


def render_page(
    request: HttpRequest, template_name: str, context: dict[str, Any] | None = None, status: int | None = None
) -> HttpResponse:
    """What `django.shortcuts.render(request, template_name, context, status=status)` answers (a template of the
    Django engine, `name#partial` included), the context's cycle broken after rendering. The Django test client's
    copy of the context (`response.context`) keeps its own list of the dicts, so tests still read it."""
    template = loader.get_template(template_name)
    backend = template.backend  # type: ignore[attr-defined]  # the Django engine's template wrapper
    page = make_context(context, request, autoescape=backend.engine.autoescape)
    try:
        content = template.template.render(page)  # type: ignore[attr-defined]
    except TemplateDoesNotExist as exc:
        reraise(exc, backend)
    finally:
        page.dicts = []  # each ContextDict held `page`, and `page` them: the cycle, broken
    return HttpResponse(content, status=status)
