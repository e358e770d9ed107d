from django import template
from django.utils.safestring import SafeString

from posts.text import render_post_text

register = template.Library()


@register.filter(name="post_text")
def post_text(value: str) -> SafeString:
    return render_post_text(value)
