from typing import Any

from django import template
from django.utils.safestring import SafeString

from posts.cards import Viewer, card

register = template.Library()
_VIEWER = "posts.cards.Viewer"


@register.simple_tag(takes_context=True)
def post_card(
    context: template.Context, post: Any, is_pinned: bool = False, show_channel: bool | None = None
) -> SafeString:
    """{% post_card post %}: the post's card (posts/cards.py) for the viewer of this page. `show_channel`
    (the argument, or else the context's) names the post's channel on the card (Home, Discover)."""
    if show_channel is None:
        show_channel = bool(context.get("show_channel"))
    return card(post, _viewer(context), show_channel=show_channel, is_pinned=is_pinned)


@register.simple_tag(takes_context=True)
def post_cards(context: template.Context, posts: Any) -> SafeString:
    """{% post_cards page.items %}: each post's card, as `{% post_card %}` in a `{% for %}` loop wrote them (the
    loop's machinery cost ~7 µs a card); `show_channel` from the context."""
    viewer, show_channel = _viewer(context), bool(context.get("show_channel"))
    return SafeString("".join([card(post, viewer, show_channel=show_channel) for post in posts]))  # cards: escaped


def _viewer(context: template.Context) -> Viewer:
    """One Viewer per rendering (the 20 cards of a page share it: its words, today's date, the CSRF field)."""
    viewer = context.render_context.get(_VIEWER)
    if viewer is None:
        viewer = context.render_context[_VIEWER] = Viewer.of(context)
    return viewer
