"""core.when: days and moments as people say them, in their language, the same however often they are asked."""

from datetime import date

from django.utils import translation

from core.when import short_date_text


def test_a_short_date_follows_the_language_and_the_year_each_time_it_is_asked() -> None:
    today = date(2026, 11, 27)
    asked = []
    for language in ("en", "zh-hans", "en", "zh-hans"):
        with translation.override(language):
            asked.append(
                (short_date_text(date(2026, 11, 3), today=today), short_date_text(date(2025, 11, 3), today=today))
            )
    assert asked == [
        ("Nov 3", "Nov 3, 2025"),
        ("11月3日", "2025年11月3日"),
        ("Nov 3", "Nov 3, 2025"),
        ("11月3日", "2025年11月3日"),
    ]
    # The same day is "this year" or not by the viewer's today, not by the first answer kept.
    with translation.override("en"):
        assert short_date_text(date(2026, 11, 3), today=date(2027, 1, 2)) == "Nov 3, 2026"
        assert short_date_text(date(2026, 11, 3), today=today) == "Nov 3"
