from typing import Any

from django import template
from django.template.defaultfilters import urlencode
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.kept import Kept, placeholder, put_in
from interests.categories import CATEGORIES

register = template.Library()

# A channel's card on Explore (interests/_channel_card.html), kept by everything it shows: the same card
# for every visitor until the channel's name, cover, description, rule, counts or the visitor's membership
# or language differ — then the key differs and it is rendered afresh. At most this many are kept (a
# few hundred bytes each); when full, the lot is dropped.
LIMIT = 500
_cards = Kept(LIMIT)


def _card(channel: Any, language: str | None, prefix: str) -> str:
    key = (
        language,
        prefix,
        channel.public_id,
        channel.name,
        channel.kind,
        channel.cover_name,
        bool(getattr(channel, "joined", False)),
        channel.description,
        channel.rule,
        channel.member_count,
        channel.post_count,
    )
    return _cards.get(key, lambda: render_to_string("interests/_channel_card.html", {"channel": channel}))


@register.simple_tag
def channel_cards(channels: Any) -> SafeString:
    """{% channel_cards page.items %}: Explore's cards for a page of channels (each card's template reads only
    `channel`), in one tag: a `{% for %}` loop of one tag a card cost ~5 µs a card more."""
    language, prefix = get_language(), get_script_prefix()
    return mark_safe("".join(_card(channel, language, prefix) for channel in channels))  # noqa: S308  (rendered)


_CSRF = placeholder("channelheadcsrf")
_heads = Kept(LIMIT)


@register.simple_tag(takes_context=True)
def channel_head(context: template.Context) -> SafeString:
    """{% channel_head %}: the channel page's head (interests/_channel_head.html: cover, name, kind, category,
    members, description, rule, the join/leave form, the group chat's button, the report link), kept like the
    cards above under a key of every value it reads — the channel's, whether the viewer joined or hosts it,
    the language — with a placeholder where the request's CSRF token goes, put in on each page. A join, a
    new count, name or description is a new key: it shows at once. ~0.4 ms of a channel page's CPU."""
    channel = context["channel"]
    is_host = bool(context.get("is_host"))
    token = context.get("csrf_token")
    with_token = bool(token) and str(token) != "NOTPROVIDED"
    key = (
        get_language(),
        get_script_prefix(),
        channel.public_id,
        channel.name,
        channel.kind,
        channel.category,
        channel.cover_name,
        channel.member_count,
        channel.description,
        channel.rule,
        bool(getattr(channel, "joined", False)),
        is_host,
        with_token,
    )
    values = {"channel": channel, "is_host": is_host, "csrf_token": _CSRF if with_token else token}
    html = _heads.get(key, lambda: render_to_string("interests/_channel_head.html", values))
    if with_token:
        return put_in(html, _CSRF, token)
    return mark_safe(html)  # noqa: S308  (a rendered template)


@register.simple_tag(takes_context=True)
def category_chips(context: template.Context) -> SafeString:
    """{% category_chips %}: Explore's row of category links (All, then each category), the current one
    marked, each keeping the search and the sort — the markup the template's loop wrote (16 categories, 4
    lookups each: ~0.3 ms), written here. Reads `q`, `category`, `sort` and `categories` from the context."""
    q = escape(urlencode(str(context.get("q", ""))))
    category = context.get("category")
    sort = escape(context.get("sort", ""))
    out = [f'<a class="chip{"" if category else " active"}" href="?q={q}&amp;sort={sort}">{escape(_("All"))}</a>\n  ']
    for slug, label in (context.get("categories") or {}).items():
        active = " active" if category == slug else ""
        out.append(
            f'<a class="chip{active}" href="?category={escape(slug)}&amp;q={q}&amp;sort={sort}">{escape(label)}</a>'
        )
    return mark_safe("".join(out))  # noqa: S308  (every value above is escaped)


# Explore's head (interests/_explore_head.html: the title, the "for you" slot, the search form, the category chips):
# the same for everyone, given the language, the sort and the category; kept when there is no search (a search's
# words would make keys without end) and the chips are the categories (their labels follow the language), else
# rendered. ~0.4 ms of the page's CPU.
_explore_heads = Kept(limit=200)


@register.simple_tag(takes_context=True)
def explore_head(context: template.Context) -> SafeString:
    """{% explore_head %}: reads `q`, `category`, `sort` and `categories` from the context."""
    values = {name: context[name] for name in ("q", "category", "sort", "categories") if name in context}

    def render() -> str:
        return render_to_string("interests/_explore_head.html", values)

    if values.get("q") or values.get("categories") is not CATEGORIES:
        return mark_safe(render())  # noqa: S308  (a rendered template)
    key = (get_language(), get_script_prefix(), values.get("category"), values.get("sort"))
    return mark_safe(_explore_heads.get(key, render))  # noqa: S308  (a rendered template)
