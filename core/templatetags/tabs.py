from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# The tab bar (core/_tabs.html) differs only by the page's URL name and namespace (the lit tab) and the
# language: rendered once per such pair and language, then reused on every page.
_rendered: dict[tuple[str, str, str, str], SafeString] = {}


@register.simple_tag(takes_context=True)
def tabs(context: template.Context) -> SafeString:
    """{% tabs %}: the signed-in person's tab bar, the current page's tab lit."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    namespace = (match.namespace or "") if match else ""
    key = (get_language() or "", get_script_prefix(), name, namespace)
    html = _rendered.get(key)
    if html is None:
        if len(_rendered) >= 200:  # URL names are few; this only bounds the unexpected
            _rendered.clear()
        html = _rendered[key] = render_to_string("core/_tabs.html", {"request": request})
    return html


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    _rendered.clear()
