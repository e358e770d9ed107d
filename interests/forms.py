from django import forms
from django.utils.translation import gettext_lazy as _

from .categories import category_choices
from .models import ChannelKind


class ChannelForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        required=False,
        help_text=_("Short and clear: “Insomnia”, “Show me your shoes”."),
    )
    description = forms.CharField(
        label=_("What it's about"), required=False, max_length=600, widget=forms.Textarea(attrs={"rows": 3})
    )
    rule = forms.CharField(
        label=_("What belongs here"),
        required=False,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The channel's rule. You can remove posts that break it."),
    )
    # Kind and category are checked by the service, so every error shows in one go.
    kind = forms.ChoiceField(
        label=_("People post"), choices=ChannelKind.choices, widget=forms.RadioSelect, required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=[("", _("Choose…")), *category_choices()], required=False)
    cover = forms.FileField(
        label=_("Cover picture"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )


class ChannelSettingsForm(forms.Form):
    description = forms.CharField(
        label=_("What it's about"), required=False, max_length=600, widget=forms.Textarea(attrs={"rows": 3})
    )
    rule = forms.CharField(
        label=_("What belongs here"), required=False, max_length=400, widget=forms.Textarea(attrs={"rows": 2})
    )


class TransferForm(forms.Form):
    username = forms.CharField(label=_("Hand the channel to"), max_length=40, help_text=_("A member's username."))
