"""What a username may be, and the key that makes look-alike usernames collide.

`Alice`, `alice`, `ａｌｉｃｅ` (full width) and `аlice` (Cyrillic а) all read as "alice" to a
person, so they share one `username_key` and only one of them can exist.
"""

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MIN_LENGTH = 3
MAX_LENGTH = 30
# Letters of any script, digits and the underscore; nothing that looks like punctuation.
_ALLOWED = re.compile(r"^[^\W]+$")
RESERVED = {
    "admin",
    "administrator",
    "root",
    "same",
    "support",
    "help",
    "moderator",
    "mod",
    "staff",
    "system",
    "api",
    "me",
    "null",
    "none",
    "anonymous",
    "operator",
    "official",
}


@lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str:
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=False)
    if not found:
        return char
    homoglyphs = found[0]["homoglyphs"]
    for glyph in homoglyphs:
        candidate = glyph["c"]
        if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
            return str(candidate).lower()
    return char


def username_key(username: str) -> str:
    """The comparison key: width- and case-folded, with Latin look-alikes mapped to Latin."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return "".join(_latin_lookalike(char) if not char.isascii() else char for char in folded)


def _width(text: str) -> int:
    # A Chinese or Japanese character fills two columns: "小雨" is as long a name as "rain".
    return sum(2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1 for char in text)


def clean_username(raw: str) -> str:
    """The username as it will be stored, or a ValidationError a person can act on."""
    username = unicodedata.normalize("NFKC", raw.strip())
    if not username:
        raise ValidationError(_("Choose a username."), code="required")
    if _width(username) < MIN_LENGTH:
        raise ValidationError(_("A username has at least %(n)d characters.") % {"n": MIN_LENGTH}, code="too_short")
    if len(username) > MAX_LENGTH:
        raise ValidationError(_("A username has at most %(n)d characters.") % {"n": MAX_LENGTH}, code="too_long")
    if not _ALLOWED.match(username):
        raise ValidationError(_("Use letters, digits and _ only."), code="invalid_characters")
    if confusables.is_dangerous(username):
        raise ValidationError(
            _("This username mixes alphabets that look alike; write it in one alphabet."), code="confusable"
        )
    if username_key(username) in RESERVED:
        raise ValidationError(_("This username is reserved."), code="reserved")
    return username
