from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.kept import Kept

register = template.Library()

# The tab bar (core/_tabs.html) differs only by the page's URL name and namespace (the lit tab) and the
# language: rendered once per such pair and language, then reused on every page.
_kept = Kept(limit=200)  # URL names are few; the limit only bounds the unexpected


@register.simple_tag(takes_context=True)
def tabs(context: template.Context) -> SafeString:
    """{% tabs %}: the signed-in person's tab bar, the current page's tab lit."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    namespace = (match.namespace or "") if match else ""
    key = (get_language() or "", get_script_prefix(), name, namespace)
    html = _kept.get(key, lambda: render_to_string("core/_tabs.html", {"request": request}))
    return mark_safe(html)  # noqa: S308  (a rendered template)
