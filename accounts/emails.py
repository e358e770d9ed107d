"""The emails accounts send. Each is rendered in the recipient's language and sent by a task,
so a slow mail server never slows a page and never tells, by its timing, who is registered."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation


def send_templated_email(*, to: str, template: str, context: dict[str, object], language: str = "en") -> None:
    with translation.override(language):
        subject = render_to_string(f"accounts/email/{template}.subject.txt", context).strip()
        body = render_to_string(f"accounts/email/{template}.txt", {**context, "site_url": settings.SITE_URL})
    EmailMessage(subject=subject, body=body, to=[to]).send()
