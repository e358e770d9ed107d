"""Post text as HTML: escaped, line breaks kept, links made clickable. Nothing else is ever markup."""

import re
from html import escape

import nh3
from django.utils.safestring import SafeString

_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)


def render_post_text(text: str) -> SafeString:
    escaped = escape(str(text))  # what django.utils.html.escape does, without its lazy-string wrapper
    linked = _URL.sub(
        lambda m: f'<a href="{m.group(0)}" rel="nofollow noopener ugc" target="_blank">{m.group(0)}</a>', escaped
    )
    html = linked.replace("\n", "<br>")
    # Belt and braces: whatever the above produced, only these tags and attributes survive.
    clean = nh3.clean(
        html,
        tags={"a", "br"},
        attributes={"a": {"href", "target"}},
        link_rel="nofollow noopener ugc",
        url_schemes={"http", "https"},
    )
    return SafeString(clean)  # sanitised by nh3 just above (mark_safe, without its lazy-string wrapper)
