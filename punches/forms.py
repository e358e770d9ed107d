from django import forms
from django.utils.translation import gettext_lazy as _


class PunchForm(forms.Form):
    note = forms.CharField(
        label=_("A note (optional)"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"maxlength": 140, "placeholder": _("How's the morning?")}),
    )
    photo = forms.FileField(
        label=_("A photo (optional)"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )


class ClockForm(forms.Form):
    window_start = forms.TimeField(
        label=_("Open from"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    window_end = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    prompt = forms.CharField(
        label=_("Button prompt"),
        required=False,
        max_length=60,
        help_text=_("Like “I'm up!”. Leave empty for “Punch in”."),
    )
