"""`{% keep value… %}…{% endkeep %}`: a stretch of a template rendered once per combination of the values named,
the language and the script prefix, then reused on every page (core/kept.py).

For the stretches of the page's shell (base.html) that every page repeats: the wordmark, the banners, the update
bar. Precondition: what is inside reads nothing of the context but the values named (and the request's CSRF token
and CSP nonce, which are rendered as placeholders and put in on each page); so it may not hold a `{% block %}` (a
page's own block would read that page's context), which is refused when the template is read.
"""

from collections.abc import Hashable

from django import template
from django.template.base import FilterExpression, Node, NodeList, Parser, Token
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.kept import Kept, placeholder, put_in

register = template.Library()

_CSRF = placeholder("keepcsrf")
_NONCE = placeholder("keepnonce")
_kept = Kept(limit=500)  # a few stretches × languages × the values' few combinations; the limit bounds the rest


def _part(value: object) -> Hashable:
    """A value as part of a key: its type beside it (True and 1 are equal keys, and a template tells them apart),
    a value that is not a plain one as its text (a lazy translation)."""
    if value is None or type(value) in (str, int, bool):
        return (type(value), value)
    return (type(value), str(value))


class KeepNode(Node):
    def __init__(self, nodelist: NodeList, values: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.values = values

    def render(self, context: template.Context) -> SafeString:
        token = context.get("csrf_token")
        with_token = bool(token) and str(token) != "NOTPROVIDED"
        nonce = context.get("csp_nonce")
        key = (
            self,  # this stretch of this template (as read once by the cached loader)
            get_language(),
            get_script_prefix(),
            with_token,
            nonce is None,
            *(_part(value.resolve(context)) for value in self.values),
        )

        held: dict[str, str] = {}  # only what the page has: a name it lacks renders as the template wrote it
        if with_token:
            held["csrf_token"] = _CSRF
        if nonce is not None:
            held["csp_nonce"] = _NONCE

        def render() -> str:
            with context.push(held):
                return str(self.nodelist.render(context))

        html = _kept.get(key, render)
        if with_token and _CSRF in html:
            html = put_in(html, _CSRF, token)
        if nonce is not None and _NONCE in html:
            html = put_in(html, _NONCE, nonce)
        return mark_safe(html)  # noqa: S308  (a rendered template, the per-request values escaped by put_in)


@register.tag
def keep(parser: Parser, token: Token) -> KeepNode:
    """{% keep value… %}…{% endkeep %}"""
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endkeep",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError(
            "{% keep %} cannot hold a {% block %}: a page's block reads its own context."
        )
    return KeepNode(nodelist, values)
