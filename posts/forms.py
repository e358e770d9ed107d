"""Composer forms, one per channel kind. They parse input; the rules live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: object, initial: object = None) -> list[object]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def _text(
    label: StrOrPromise, *, rows: int = 3, placeholder: StrOrPromise = "", max_length: int = 2100
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        strip=False,
        widget=forms.Textarea(attrs={"rows": rows, "placeholder": placeholder}),
    )


class TextPostForm(forms.Form):
    text = _text(_("Say something"), placeholder=_("What do you feel?"))


class PhotoPostForm(forms.Form):
    images = MultipleFileField(
        label=_("Photos (1–9)"), required=False, widget=MultipleFileInput(attrs={"accept": "image/*"})
    )
    text = _text(_("Caption"), rows=2, placeholder=_("A few words, if you like"))


class SongPostForm(forms.Form):
    title = forms.CharField(label=_("Song"), required=False, max_length=250)
    artist = forms.CharField(label=_("Artist"), required=False, max_length=250)
    audio = forms.FileField(
        label=_("The song itself (optional)"),
        required=False,
        help_text=_("mp3, ogg, opus, m4a or flac; up to 10 minutes and 20 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*,.mp3,.ogg,.opus,.m4a,.flac"}),
    )
    cover = forms.FileField(
        label=_("Cover (optional)"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )
    text = _text(_("Why this song?"), rows=2)


class MoviePostForm(forms.Form):
    title = forms.CharField(label=_("Film"), required=False, max_length=250)
    year = forms.CharField(
        label=_("Year"), required=False, max_length=8, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    rating = forms.ChoiceField(
        label=_("Your rating"),
        required=False,
        choices=[(str(n), "★" * n) for n in range(1, 6)],
        widget=forms.RadioSelect,
    )
    review = _text(_("A short review"), rows=3, max_length=1100)
    poster = forms.FileField(
        label=_("Poster (optional)"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )


class PollPostForm(forms.Form):
    question = forms.CharField(label=_("Question"), required=False, max_length=350)
    options = forms.CharField(
        label=_("Options, one per line"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("Cats\nDogs")}),
        help_text=_("2 to 10 options."),
    )
    multiple = forms.BooleanField(label=_("People may pick more than one"), required=False)
    closes_at = forms.DateTimeField(
        label=_("Closes at (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
