"""`{% shell_assets %}`: the links and scripts in every page's `<head>` (core/_shell_assets.html).

Five `{% static %}` lookups, two `{% url %}`s and the htmx script tag cost ~0.3 ms on every page, and give the
same addresses all the process long: rendered once per language, script prefix, script catalog version and
DEBUG, with a placeholder where the request's CSP nonce goes, which is put in on each page. Nothing of a
person or of the data is in it.
"""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe

from core.kept import Kept, placeholder, put_in

register = template.Library()

_NONCE = placeholder("shellnonce")
_kept = Kept(limit=100)  # languages are few; the limit only bounds the unexpected


@register.simple_tag(takes_context=True)
def shell_assets(context: template.Context) -> SafeString:
    """Reads `LANG`, `script_catalog_version` and `csp_nonce` (None: no nonce attribute, as htmx_script)."""
    values = {name: context[name] for name in ("LANG", "script_catalog_version") if name in context}
    nonce = context.get("csp_nonce")
    key = (tuple(values.items()), get_script_prefix(), settings.DEBUG, nonce is None)
    if nonce is not None:
        values["csp_nonce"] = _NONCE
    html = _kept.get(key, lambda: render_to_string("core/_shell_assets.html", values))
    if nonce is not None:
        return put_in(html, _NONCE, nonce)
    return mark_safe(html)  # noqa: S308  (a rendered template)
