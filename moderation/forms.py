from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ReportReason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What's wrong?"), choices=ReportReason.choices, widget=forms.RadioSelect, required=False
    )
    text = forms.CharField(
        label=_("Anything to add? (optional)"), required=False, max_length=600, widget=forms.Textarea(attrs={"rows": 3})
    )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Which rule does it break?"),
        required=False,
        max_length=600,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the channel's moderation log."),
    )
