"""Channel names: unique ignoring case and width, so "Insomnia" and "ＩＮＳＯＭＮＩＡ" are one channel."""

import unicodedata

MIN_WIDTH = 2
MAX_LENGTH = 40


def channel_name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1 for char in text)


def tidy_name(raw: str) -> str:
    """Width-normalised, single-spaced, without control characters."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(char for char in text if unicodedata.category(char)[0] != "C")
    return " ".join(text.split())
