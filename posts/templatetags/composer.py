from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.kept import Kept, placeholder, put_in

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


# The composer's box around its fields (posts/_composer.html: the summary, the form's action, the foot's words) for
# an empty form, kept under a key of every value it reads (core/kept.py), the request's CSRF token put in each time.
_boxes = Kept(limit=200)
_CSRF = placeholder("composerboxcsrf")


@register.simple_tag(takes_context=True)
def composer_box(context: template.Context) -> SafeString:
    """{% composer_box %}: posts/_composer.html for the context's `composer`, `form` and `channel` (nothing without a
    composer or a form). An empty form's box is kept per language, script prefix, channel, form class and
    upload or not (~0.2 ms of a member's channel page); a form sent back with its errors is rendered each time."""
    composer, form = context.get("composer"), context.get("form")
    if not (composer and form):
        return SafeString("")
    if form.is_bound:
        return render_to_string("posts/_composer.html", context.flatten())  # type: ignore[arg-type]  # names are str
    channel = context["channel"]
    token = context.get("csrf_token")
    with_token = bool(token) and str(token) != "NOTPROVIDED"
    key = (get_language(), get_script_prefix(), channel.public_id, type(form), bool(composer.multipart), with_token)
    values = {"composer": composer, "form": form, "channel": channel, "csrf_token": _CSRF if with_token else token}
    html = _boxes.get(key, lambda: render_to_string("posts/_composer.html", values))
    if with_token:
        return put_in(html, _CSRF, token)
    return mark_safe(html)  # noqa: S308  (a rendered template)


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "TEMPLATES", "FORM_RENDERER"}:
        _empty.clear()
