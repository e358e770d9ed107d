"""A post's card as HTML, written in Python rather than as a Django template.

Every list of posts (Home, a channel, Discover, one post) shows these cards, 20 to a page; the template
they were (`_post.html`, ~13 `{% url %}` tags, a dozen translations, the text filter) cost ~2 ms a card,
three quarters of a channel page (docs/performance.md, "The cards and the HTML ÷ bare goal"). This
module writes the same markup from the same values, ~0.1–0.3 ms a card: URLs from the public id, the
fixed words translated once per language, every value escaped as the template's autoescape did
(html.escape, as Django's `escape`).
A card is kept between requests under a key of every value it shows (`card`, `_card_key`; a poll's card is
written each time), so a *same*, a vote, a removal or a language switch shows at once.

`{% post_card post %}` (posts/templatetags/post_cards.py) puts a card in a template; the *same* and vote
views answer htmx with `same_button` and `poll_block` alone.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from functools import cache, cached_property, lru_cache
from html import escape
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.safestring import SafeString
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from core.kept import Kept
from core.when import short_date_text

from .text import render_post_text

_PLACEHOLDER = "0card0id0"
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_url_parts: dict[tuple[str, str], tuple[str, str]] = {}


def _url(name: str, public_id: str, prefix: str) -> str:
    """reverse(name, args=[public_id]) for a url-safe public id, without resolving every time (`prefix`:
    the script prefix reverse() would use)."""
    if not _SAFE_ID.fullmatch(public_id):
        return reverse(name, args=[public_id])
    key = (prefix, name)
    parts = _url_parts.get(key)
    if parts is None:
        before, _sep, after = reverse(name, args=[_PLACEHOLDER]).partition(_PLACEHOLDER)
        parts = _url_parts[key] = (before, after)
    return f"{parts[0]}{public_id}{parts[1]}"


@dataclass(frozen=True)
class Words:
    """The card's fixed words in one language (translated once per process and language)."""

    pinned: str
    more: str
    unpin: str
    pin: str
    remove: str
    send: str
    who_felt: str
    talk: str
    report: str
    closed: str
    vote: str
    pick_many: str
    pick_one: str
    results_after: str
    same: str
    photo: str
    block: str
    punched: str
    closes: str
    today: str
    yesterday: str
    tomorrow: str


_words: dict[str, Words] = {}


def words() -> Words:
    language = get_language() or ""
    found = _words.get(language)
    if found is None:
        found = _words[language] = Words(
            pinned=_("Pinned by the host"),
            more=_("More"),
            unpin=_("Unpin"),
            pin=_("Pin to the top"),
            remove=_("Remove from the channel"),
            send=_("Send to a chat"),
            who_felt=_("Who felt the same · delete"),
            talk=_("Talk to the author"),
            report=_("Report"),
            closed=_("closed"),
            vote=_("Vote"),
            pick_many=_("Pick one or more."),
            pick_one=_("Pick one."),
            results_after=_("Results show after you vote."),
            same=_("same"),
            photo=_("Photo %(n)s"),
            block=_("Block %(name)s"),
            punched=_("Punched in at %(t)s · day %(n)s"),
            closes=_("closes %(t)s"),
            today=_("today %(time)s"),
            yesterday=_("yesterday %(time)s"),
            tomorrow=_("tomorrow %(time)s"),
        )
    return found


@receiver(setting_changed)
def _forget_words(setting: str, **kwargs: object) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _words.clear()


@dataclass(frozen=True)
class Viewer:
    """What a card needs of the request: who looks, the CSRF field, the page to come back to."""

    pk: int | None
    csrf_field: str
    path: str
    words: Words = field(default_factory=words)
    token: str = ""  # the CSRF token as `csrf_field` holds it (escaped), "" without one
    prefix: str = field(default_factory=get_script_prefix)
    today: date = field(default_factory=timezone.localdate)
    zone: tzinfo = field(default_factory=timezone.get_current_timezone)  # the page's: looked up once
    days: dict[date, str] = field(default_factory=dict, compare=False)  # 'Nov 3' for each day met

    @classmethod
    def of(cls, context: Any) -> "Viewer":
        """From a template context (the request context processors': `user`, `csrf_token`, `request`)."""
        user = context.get("user")
        token = context.get("csrf_token")
        field = escaped = ""
        if token and str(token) != "NOTPROVIDED":
            escaped = escape(str(token))
            field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escaped}">'
        request = context.get("request")
        return cls(
            pk=getattr(user, "pk", None),
            csrf_field=field,
            path=escape(request.path) if request is not None else "",
            token=escaped,
        )

    @cached_property
    def held(self) -> "Viewer":
        """This viewer with a placeholder where the CSRF token goes: the cards kept between requests are rendered
        with it, and each page puts its own token in (`card`)."""
        return replace(self, csrf_field=_HELD_FIELD if self.csrf_field else "", token=_HELD_TOKEN if self.token else "")

    @cached_property
    def page_key(self) -> tuple[Any, ...]:
        """What a card reads of the page rather than of the post: the language (the words), the script prefix, today
        and the time zone (the time labels), the page's path (the forms come back to it), a CSRF field or not."""
        return (get_language(), self.prefix, self.today, self.zone, self.path, bool(self.csrf_field))

    @classmethod
    def of_request(cls, request: HttpRequest) -> "Viewer":
        """For a card's part sent alone (the *same* button, the poll), as a template would see it."""
        return cls.of({"user": getattr(request, "user", None), "csrf_token": get_token(request), "request": request})


def _n(value: int) -> str:
    return str(value)


def _e(value: object) -> str:
    if value is None:
        return "None"
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return escape(str(value))


_KIND_ICONS = {
    "music": '<svg class="kind-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M9 17.5V6l10-2v11.5"/>'
    '<circle cx="6.5" cy="17.5" r="2.5"/><circle cx="16.5" cy="15.5" r="2.5"/></svg>\n',
    "movie": '<svg class="kind-icon" viewBox="0 0 24 24" aria-hidden="true"><rect x="3.5" y="5" width="17" '
    'height="14" rx="2.5"/><path d="M3.5 9.5h17M8 5l2 4.5M13 5l2 4.5"/></svg>\n',
}
_PIN_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 4h6l-1 6 4 3v2h-5v5l-1 1-1-1v-5H6v-2l4-3z"/></svg>'
_MORE_ICON = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="5" cy="12" r="1.8"/><circle cx="12" cy="12" '
    'r="1.8"/><circle cx="19" cy="12" r="1.8"/></svg>'
)
_CLOCK_ICON = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="13" r="7"/><path d="M12 9.5V13l2.5 2M9.5 3.5h5"/>'
    "</svg>"
)
_SAME_ICON = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="9" cy="12" r="6"/><circle cx="15" cy="12" r="6"/></svg>'
)
_BAR = (
    '<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"><rect width="100" height="6" '
    'rx="3" class="bar-bg"/><rect width="{percent}" height="6" rx="3" class="bar-fg"/></svg>'
)


def _menu(post: Any, viewer: Viewer, w: Words) -> str:
    pid = post.public_id
    out = ['      <div class="menu" role="menu">\n        ']
    if post.channel.host_id == viewer.pk:
        action, label = ("unpin", w.unpin) if post.pinned_at else ("pin", w.pin)
        out.append(
            f'\n          <form method="post" action="{_url("moderation:pin", pid, viewer.prefix)}">{viewer.csrf_field}'
            f'<input type="hidden" name="next" value="{viewer.path}">\n'
            f'            <button type="submit" role="menuitem" name="action" value="{action}">{label}</button>\n'
            "          </form>\n          "
        )
        if post.author_id != viewer.pk:
            out.append(f'<a role="menuitem" href="{_url("moderation:remove", pid, viewer.prefix)}">{w.remove}</a>')
        out.append("\n        ")
    out.append(f'\n        <a role="menuitem" href="{_url("chat:forward", pid, viewer.prefix)}">{w.send}</a>\n        ')
    if post.author_id == viewer.pk:
        out.append(f'<a role="menuitem" href="{_url("posts:detail", pid, viewer.prefix)}">{w.who_felt}</a>\n        ')
    else:
        block = w.block % {"name": _e(post.author.username)}
        out.append(
            f'<a role="menuitem" href="{_url("chat:talk", pid, viewer.prefix)}">{w.talk}</a>\n'
            f'        <a role="menuitem" href="{_url("moderation:report_post", pid, viewer.prefix)}">{w.report}</a>\n'
            f'        <form method="post" action="{_url("chat:block_author", pid, viewer.prefix)}">{viewer.csrf_field}'
            f'<button type="submit" role="menuitem">{block}</button></form>'
        )
    out.append("\n      </div>\n")
    return "".join(out)


@cache
def _storage(model: Any, name: str) -> Any:
    return model._meta.get_field(name).storage


def _file_url(instance: Any, name: str, storage: Any = None) -> str:
    """`instance.<name>.url` (a file field's), without wrapping the stored name in a FieldFile first when it is
    still a plain name (a page of photo cards asks for 40 of these): the field's storage's url of the name,
    which is what FieldFile.url returns. `storage`: that storage, when the caller already looked it up."""
    value = instance.__dict__.get(name)
    if type(value) is str and value:
        return str((storage or _storage(instance.__class__, name)).url(value))
    return str(getattr(instance, name).url)


def _unwrapped(storage: Any) -> Any:
    """The storage behind `default_storage` (a LazyObject: each attribute read through it is a proxy call), as it
    is now — looked up again for every card, so a test's other storage settings are followed."""
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def _images(post: Any) -> list[Any]:
    """`list(post.images.all())`, read straight from the rows the page's query put there when it did
    (`posts.selectors._prefetched`): the related manager and its queryset cost ~15 µs a card to make."""
    cached = post.__dict__.get("_prefetched_objects_cache", {}).get("images")
    if cached is not None and cached._result_cache is not None:
        return list(cached._result_cache)
    return list(post.images.all())


def _photos(images: list[Any], w: Words, *, numbered: bool) -> str:
    links = []
    storages: dict[str, Any] = {}
    for number, image in enumerate(images, start=1):
        if not storages:
            storages = {name: _unwrapped(_storage(image.__class__, name)) for name in ("image", "thumb")}
        alt = _e(w.photo % {"n": number}) if numbered else ""
        links.append(
            f'<a href="{_e(_file_url(image, "image", storages["image"]))}" class="photo" target="_blank" '
            f'rel="noopener"><img src="{_e(_file_url(image, "thumb", storages["thumb"]))}" '
            f'width="{_n(image.thumb_width)}" height="{_n(image.thumb_height)}" '
            f'alt="{alt}" loading="lazy"></a>'
        )
    return "".join(links)


def _song(song: Any) -> str:
    if song.cover:
        cover = f'<img class="song-cover" src="{_e(song.cover.url)}" alt="" width="64" height="64" loading="lazy">'
    else:
        cover = f'<span class="song-cover placeholder kind-music">{_KIND_ICONS["music"]}</span>'
    audio = ""
    if song.audio:
        audio = (
            f'<audio controls preload="none" aria-label="{_e(song.title)} · {_e(song.artist)}" '
            f'src="{_e(song.audio.url)}"></audio>'
        )
    return (
        f'\n    <div class="song">\n      {cover}\n      <div class="song-body">\n'
        f'        <strong class="song-title">{_e(song.title)}</strong>\n'
        f'        <span class="muted">{_e(song.artist)}</span>\n        {audio}\n      </div>\n    </div>\n  '
    )


@lru_cache(maxsize=64)
def _stars(rating: int, language: str | None) -> tuple[str, str]:
    """A rating's label and its five stars, made once per rating and language (translations never change while
    the process runs; the language is in the key)."""
    label = ngettext("%(n)s star", "%(n)s stars", rating) % {"n": _n(rating)}
    return label, "".join(f'<span class="{"on" if i <= rating else ""}">★</span>' for i in range(1, 6))


@lru_cache(maxsize=1024)
def _film_stats(others: int, average: object, language: str | None) -> str:
    """ "n others … average ★ x.y" for a film's standing, made once per standing and language (the language is in
    the key: the words and the decimal separator follow it)."""
    return ngettext(
        "%(n)s other in this channel posted this film · average ★ %(avg)s",
        "%(n)s others in this channel posted this film · average ★ %(avg)s",
        others,
    ) % {"n": _n(others), "avg": _e(floatformat(average, 1))}


def _movie(post: Any) -> str:
    movie = post.movie
    stored = movie.__dict__.get("poster")
    if stored if type(stored) is str else movie.poster:
        poster = f'<img class="movie-poster" src="{_e(_file_url(movie, "poster"))}" alt="" loading="lazy">'
    else:
        poster = f'<span class="movie-poster placeholder kind-movie">{_KIND_ICONS["movie"]}</span>'
    year = f' <span class="muted">({_n(movie.year)})</span>' if movie.year else ""
    stars_label, stars = _stars(movie.rating, get_language())
    others = getattr(post, "film_others", None)
    stats = ""
    if others:
        text = _film_stats(others, getattr(post, "film_average", ""), get_language())
        stats = f'<span class="film-stats">{text}</span>'
    return (
        f'\n    <div class="movie">\n      {poster}\n      <div class="movie-body">\n'
        f'        <strong class="movie-title">{_e(movie.title)}{year}</strong>\n'
        f'        <span class="stars" aria-label="{stars_label}">{stars}</span>\n'
        f"        {stats}\n      </div>\n    </div>\n  "
    )


def _punch(post: Any, w: Words) -> str:
    punch = post.punch
    line = w.punched % {"t": _e(punch.local_clock), "n": _n(punch.streak)}
    images = _images(post)
    photos = f'<div class="photos photos-1">{_photos(images, w, numbered=False)}</div>' if images else ""
    return f'\n    <p class="punch-line">{_CLOCK_ICON}{line}</p>\n    {photos}\n  '


def poll_block(post: Any, viewer: Viewer, poll_error: object = None) -> SafeString:
    """The poll: the results once the viewer voted or it closed, else the ballot (htmx swaps it alone)."""
    w = viewer.words
    poll = post.poll
    view = post.poll_view
    pid = post.public_id
    out = [
        f'\n    <div class="poll" id="poll-{pid}">\n      <p class="poll-question">{_e(poll.question)}</p>\n      \n      '
    ]
    if view.show_results:
        out.append('\n        <ul class="poll-results">\n          ')
        total = float(poll.ballot_count or 1)
        for option in view.options:
            try:
                percent = str(round(float(option.votes) / total * 100))
            except ZeroDivisionError:
                percent = "0"
            mine = option.public_id in view.my_option_ids
            out.append(
                f'\n          \n          <li class="{"mine" if mine else ""}">\n'
                f'            <span class="poll-label">{_e(option.text)}{" ✓" if mine else ""}</span>'
                f'<span class="poll-percent">{percent}%</span>\n'
                f"            {_BAR.format(percent=percent)}\n          </li>\n          "
            )
        out.append("\n        </ul>\n        ")
        if poll_error:
            out.append(f'<p class="errorlist" role="alert">{_e(poll_error)}</p>')
        votes = ngettext("%(n)s vote", "%(n)s votes", poll.ballot_count) % {"n": _n(poll.ballot_count)}
        if view.closed:
            state = f" · {w.closed}"
        elif poll.closes_at:
            state = " · " + w.closes % {"t": _e(_when(poll.closes_at, viewer))}
        else:
            state = ""
        out.append(f'\n        <p class="muted small">{votes}{state}</p>\n      ')
    else:
        vote_url = _url("posts:vote", pid, viewer.prefix)
        kind = "checkbox" if poll.multiple else "radio"
        out.append(
            f'\n        <form method="post" action="{vote_url}" hx-post="{vote_url}" hx-target="#poll-{pid}" '
            f'hx-swap="outerHTML" class="poll-form">\n          {viewer.csrf_field}\n          '
        )
        for option in view.options:
            out.append(
                f'\n          <label class="poll-choice"><input type="{kind}" name="option" '
                f'value="{_e(option.public_id)}"><span>{_e(option.text)}</span></label>\n          '
            )
        out.append("\n          ")
        if poll_error:
            out.append(f'<p class="errorlist">{_e(poll_error)}</p>')
        pick = w.pick_many if poll.multiple else w.pick_one
        out.append(
            f'\n          <button class="button small-button" type="submit">{w.vote}</button>\n'
            f'          <span class="muted small">{pick} {w.results_after}</span>\n        </form>\n      '
        )
    out.append("\n      \n    </div>\n    ")
    return SafeString("".join(out))  # every value above is escaped (mark_safe, without its lazy-string wrapper)


def same_button(post: Any, viewer: Viewer, error: object = None) -> SafeString:
    """The *same* button (or, on one's own post, the count): htmx swaps it alone after a press."""
    w = viewer.words
    pid = post.public_id
    pressed = bool(getattr(post, "same_by_me", False))
    same_url = _url("posts:same", pid, viewer.prefix)
    out = [
        f'\n    <form class="same-form" method="post" action="{same_url}" hx-post="{same_url}" hx-target="this" '
        f'hx-swap="outerHTML">\n      {viewer.csrf_field}<input type="hidden" name="pressed" '
        f'value="{"1" if pressed else "0"}"><input type="hidden" name="next" value="{viewer.path}">\n      '
    ]
    if post.author_id == viewer.pk:
        count = ngettext("%(n)s felt the same", "%(n)s felt the same", post.same_count) % {"n": _n(post.same_count)}
        out.append(f'\n        <span class="same-count mine">{count}</span>\n      ')
    else:
        out.append(
            f'\n        <button type="submit" id="same-{pid}" class="same{" pressed" if pressed else ""}" '
            f'aria-pressed="{"true" if pressed else "false"}">\n          {_SAME_ICON}\n'
            f'          <span>{w.same}</span><span class="same-count">{_n(post.same_count)}</span>\n'
            "        </button>\n      "
        )
    out.append("\n      ")
    if error:
        out.append(f'<span class="errorlist">{_e(error)}</span>')
    out.append("\n    </form>\n    ")
    return SafeString("".join(out))  # every value above is escaped (mark_safe, without its lazy-string wrapper)


def _when(value: datetime, viewer: Viewer, local: datetime | None = None) -> str:
    """core.when.when_text, with today's date, the time zone and the words looked up once per page (`local`:
    `value` in that zone, when the caller has it already)."""
    if local is None:
        local = timezone.localtime(value, viewer.zone)
    day = local.date()
    today = viewer.today
    if day == today:
        return viewer.words.today % {"time": local.strftime("%H:%M")}
    if day == today - timedelta(days=1):
        return viewer.words.yesterday % {"time": local.strftime("%H:%M")}
    if day == today + timedelta(days=1):
        return viewer.words.tomorrow % {"time": local.strftime("%H:%M")}
    text = viewer.days.get(day)
    if text is None:
        text = viewer.days[day] = short_date_text(day, today=today)
    return text


# Cards kept between requests (core/kept.py), under a key of every value `_card` reads (`_card_key`): a *same*, a
# removal, a pin, a new standing, another language, day or time zone is another key, so it shows at once. Where the
# CSRF token goes, the kept card holds `_HELD_TOKEN`: an HTML comment, which no escaped value and no post text (nh3
# drops comments) can contain, replaced by each page's own token. ~2.5 KB a card: at most 1,000 kept, then dropped.
_kept_cards = Kept(limit=1000)
_HELD_TOKEN = "<!--csrf-token-->"  # noqa: S105  (a placeholder, not a secret)
_HELD_FIELD = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_HELD_TOKEN}">'


def card(post: Any, viewer: Viewer, *, show_channel: bool = False, is_pinned: bool = False) -> SafeString:
    """One post's card (`<li class="post card">`), as the viewer sees it: kept from an earlier page when every
    value it shows is the same (~5 µs against ~70 µs to write it), else written (`_card`)."""
    key = _card_key(post, viewer, show_channel, is_pinned)
    if key is None:
        return _card(post, viewer, show_channel=show_channel, is_pinned=is_pinned)
    html = _kept_cards.get(key, lambda: _card(post, viewer.held, show_channel=show_channel, is_pinned=is_pinned))
    if viewer.token:
        html = html.replace(_HELD_TOKEN, viewer.token)
    return SafeString(html)  # written by _card, every value escaped; the token escaped in Viewer.of


def _stored(instance: Any, name: str) -> str:
    """A file field's stored name (what its URL is made from), read without making the FieldFile when it is plain."""
    value = instance.__dict__.get(name)
    if type(value) is str:
        return value
    return str(getattr(instance, name).name or "")


def _photos_key(post: Any) -> tuple[Any, ...]:
    return tuple(
        (_stored(image, "image"), _stored(image, "thumb"), image.thumb_width, image.thumb_height)
        for image in _images(post)
    )


def _body_key(post: Any) -> Any:
    """Every value `_body` reads, or `_UNKEPT` for a card that is written each time (a poll: the viewer's choices,
    the votes and its closing time)."""
    kind = post.kind
    if kind == "image":
        return _photos_key(post)
    if kind == "music":
        song = _side(post, "song")
        if song is None:
            return None
        return (song.title, song.artist, _stored(song, "cover"), _stored(song, "audio"))
    if kind == "movie":
        movie = _side(post, "movie")
        if movie is None:
            return None
        others = getattr(post, "film_others", None)
        average = getattr(post, "film_average", "") if others else None
        return (movie.title, movie.year, movie.rating, _stored(movie, "poster"), others, average)
    if kind == "punch":
        punch = _side(post, "punch")
        if punch is None:
            return None
        return (punch.local_clock, punch.streak, _photos_key(post))
    if kind == "vote" and getattr(post, "poll_view", None):
        return _UNKEPT
    return None


_UNKEPT = object()


def _card_key(post: Any, viewer: Viewer, show_channel: bool, is_pinned: bool) -> tuple[Any, ...] | None:
    """Every value `_card` reads, as a key, or None for a card that is not kept."""
    body = _body_key(post)
    if body is _UNKEPT:
        return None
    channel = post.channel
    return (
        viewer.page_key,
        channel.host_id == viewer.pk,  # the host's tools
        post.author_id == viewer.pk,  # the author's own tools, the count instead of the button
        (channel.public_id, channel.name) if show_channel else None,
        is_pinned,
        post.public_id,
        post.kind,
        post.created_at,
        bool(post.pinned_at),
        post.author.username,
        post.text,
        post.same_count,
        bool(getattr(post, "same_by_me", False)),
        body,
    )


def _card(post: Any, viewer: Viewer, *, show_channel: bool = False, is_pinned: bool = False) -> SafeString:
    """One post's card, written."""
    w = viewer.words
    pid = post.public_id
    local = timezone.localtime(post.created_at, viewer.zone)
    out = [
        f'<li class="post card{" pinned" if is_pinned else ""}" id="post-{pid}">\n  ',
        f'<p class="pinned-label">{_PIN_ICON}{w.pinned}</p>' if is_pinned else "",
        '\n  <header class="post-head">\n',
        f'    <span class="post-author">{_e(post.author.username)}</span>\n    ',
    ]
    if show_channel:
        channel = post.channel
        out.append(
            f'<a class="post-channel" href="{_url("interests:channel", channel.public_id, viewer.prefix)}">{_e(channel.name)}</a>'
        )
    out.append(
        f'\n    <a class="post-time" href="{_url("posts:detail", pid, viewer.prefix)}"><time datetime="{local.isoformat()}">'
        f"{_e(_when(post.created_at, viewer, local))}</time></a>\n"
        f'    <details class="post-menu">\n      <summary aria-label="{w.more}">{_MORE_ICON}</summary>\n'
    )
    out.append(_menu(post, viewer, w))
    out.append("    </details>\n  </header>\n\n  ")
    out.append(_body(post, viewer))
    out.append("\n\n  ")
    if post.text:
        out.append(f'<div class="post-text">{render_post_text(post.text)}</div>')
    out.append('\n  <footer class="post-actions">\n    ')
    out.append(same_button(post, viewer))
    out.append("\n  </footer>\n</li>\n")
    return SafeString("".join(out))  # every value above is escaped (mark_safe, without its lazy-string wrapper)


def _body(post: Any, viewer: Viewer) -> str:
    kind = post.kind
    if kind == "image":
        images = _images(post)
        return (
            f'\n    \n    <div class="photos photos-{_n(len(images) or 1)}">\n      '
            f"{_photos(images, viewer.words, numbered=True)}\n    </div>\n    \n  "
        )
    if kind == "music" and _side(post, "song"):
        return _song(post.song)
    if kind == "movie" and _side(post, "movie"):
        return _movie(post)
    if kind == "punch" and _side(post, "punch"):
        return _punch(post, viewer.words)
    if kind == "vote" and getattr(post, "poll_view", None):
        return "\n    " + poll_block(post, viewer) + "\n  "
    return ""


def _side(post: Any, name: str) -> Any:
    """The kind's own row, or None when the post has none (as the template's `post.song` did)."""
    try:
        return getattr(post, name)
    except ObjectDoesNotExist:  # a template shows a missing related row as empty
        return None
