from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# An empty composer's fields are the same for every channel of a kind and every person: rendered once per
# form and language (Django's widgets cost ~8 ms for the film composer), then reused.
_empty: dict[tuple[type[Any], str], SafeString] = {}


@register.simple_tag
def composer_fields(form: Any) -> SafeString:
    """{% composer_fields form %}: the composer's fields and errors (posts/_composer_fields.html)."""
    if form.is_bound:
        return render_to_string("posts/_composer_fields.html", {"form": form})
    key = (type(form), get_language() or "")
    html = _empty.get(key)
    if html is None:
        html = _empty[key] = render_to_string("posts/_composer_fields.html", {"form": form})
    return html


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "TEMPLATES", "FORM_RENDERER"}:
        _empty.clear()
