from django import forms

from .errors import ServiceError


def add_service_error(form: forms.Form, error: ServiceError) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    fields = error.fields or {}
    if not fields:
        form.add_error(None, error.message)
        return
    for name, messages in fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
