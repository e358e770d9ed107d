"""The fixed list of channel categories. Slugs are stable (the API uses them); names are translated."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CATEGORIES: dict[str, Promise] = {
    "moods": _("Moods"),
    "life": _("Life"),
    "rituals": _("Daily rituals"),
    "study": _("Study"),
    "work": _("Work"),
    "music": _("Music"),
    "film": _("Film & TV"),
    "books": _("Books"),
    "photography": _("Photography"),
    "art": _("Art & making"),
    "sports": _("Sports"),
    "pets": _("Pets"),
    "food": _("Food"),
    "travel": _("Travel"),
    "games": _("Games"),
    "tech": _("Tech"),
}


def category_choices() -> list[tuple[str, Promise]]:
    return list(CATEGORIES.items())
