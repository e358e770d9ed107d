"""The XSS corpus (tests/data/xss_payloads.txt) and a world built from it through the services.

`plant()` puts every payload into every place user text is shown: channel names, descriptions and rules, posts of
every kind (text, photo captions, song titles and artists, film titles and reviews, poll questions and options),
group titles, chat messages, a knock, sticker captions, report texts read by operators, a host's removal reasons, a
suspension reason and a punch note. Fields shorter than a payload hold the payload cut to fit (the cut is an
attack too); longer fields hold several payloads, one a line or separated by a space.
"""

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import User
from chat import groups
from chat import services as chat_services
from interests.models import Channel
from interests.names import channel_name_key, tidy_name
from interests.services import channel_create, channel_join
from moderation import operators
from moderation.services import post_remove, report_create
from posts.movies import post_create_movie
from posts.photos import post_create_photos
from posts.polls import post_create_poll
from posts.services import post_create_text
from posts.songs import post_create_song
from stickers.models import Sticker, StickerSave
from stickers.services import clean_caption, sticker_create
from tests.factories import make_user

CORPUS_FILE = Path(__file__).resolve().parent / "data" / "xss_payloads.txt"


def payloads() -> list[str]:
    """Every payload, its `__N__` replaced by its number (from 1). Lines are split on "\\n" only: some payloads
    hold U+2028, which `splitlines` would also split on."""
    lines = [line for line in CORPUS_FILE.read_text(encoding="utf-8").split("\n") if line]
    return [line.replace("__N__", str(number)) for number, line in enumerate(lines, start=1)]


def packed(items: list[str], limit: int, *, separator: str = " ") -> list[str]:
    """The items joined into as few strings of at most `limit` characters as fit; an item longer than the limit
    is cut to it."""
    packs: list[str] = []
    current = ""
    for item in (item[:limit] for item in items):
        joined = f"{current}{separator}{item}" if current else item
        if len(joined) <= limit:
            current = joined
            continue
        packs.append(current)
        current = item
    if current:
        packs.append(current)
    return packs


def normalised(text: str) -> str:
    """What a page's text shows of a value: whitespace runs collapse to one space."""
    return " ".join(text.split())


@dataclass
class Planted:
    """The world the corpus was planted in, and what each place holds (as stored)."""

    viewer: User  # host of the channels, owner of the groups and stickers, an operator
    suspended: User
    channels: list[Channel]
    post_channels: dict[str, Channel]
    punch_channel: Channel
    group_chat_id: str
    knock_chat_id: str
    places: dict[str, list[str]] = field(default_factory=dict)

    def add(self, place: str, value: str) -> None:
        self.places.setdefault(place, []).append(value)


def _tiny_png(colour: tuple[int, int, int] = (90, 140, 200)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), colour).save(buffer, "PNG")
    return SimpleUploadedFile("tiny.png", buffer.getvalue(), content_type="image/png")


def _operator(username: str) -> User:
    person = make_user(username=username, is_staff=True)
    person.user_permissions.add(*Permission.objects.filter(codename__in=["change_report", "view_report"]))
    return User.objects.get(pk=person.pk)


def plant(corpus: list[str] | None = None) -> Planted:
    corpus = corpus if corpus is not None else payloads()
    viewer = _operator("viewer")
    author = make_user(username="author")
    suspended = make_user(username="quiet")

    # Channels: one per payload for the names; descriptions and rules packed into the first ones.
    descriptions = packed(corpus, 500, separator="\n")
    rules = packed(corpus, 300)
    channels: list[Channel] = []
    for number, name in enumerate(item[:40] for item in corpus):
        description = descriptions[number] if number < len(descriptions) else ""
        rule = rules[number] if number < len(rules) else ""
        if Channel.objects.filter(name_key=channel_name_key(tidy_name(name))).exists():
            name = f"{name[:34]} #{number}"  # a cut name can fold onto an earlier one (names ignore case and width)
        channel = channel_create(
            host=viewer, name=name, description=description, rule=rule, kind="text", category="moods"
        )
        channels.append(channel)
    post_channels = {
        kind: channel_create(host=viewer, name=f"Posts of kind {kind}", kind=kind, category="moods")
        for kind in ("text", "image", "music", "movie", "vote")
    }
    punch_channel = channel_create(host=viewer, name="Punch here", kind="punch", category="moods")
    for channel in [*post_channels.values(), punch_channel]:
        channel_join(user=author, channel=channel)

    planted = Planted(
        viewer=viewer,
        suspended=suspended,
        channels=channels,
        post_channels=post_channels,
        punch_channel=punch_channel,
        group_chat_id="",
        knock_chat_id="",
    )
    for channel in channels:
        planted.add("channel name", channel.name)
        if channel.description:
            planted.add("channel description", channel.description)
        if channel.rule:
            planted.add("channel rule", channel.rule)

    # Posts of every kind, by someone else (so the viewer sees another person's text).
    for text in packed(corpus, 2000, separator="\n"):
        planted.add("text post", post_create_text(author=author, channel=post_channels["text"], text=text).text)
    for text in packed(corpus, 2000):
        photo = post_create_photos(author=author, channel=post_channels["image"], images=[_tiny_png()], text=text)
        planted.add("photo caption", photo.text)
    titles, artists = packed(corpus, 200), packed(list(reversed(corpus)), 200)
    for title, artist in zip(titles, artists, strict=False):
        song = post_create_song(author=author, channel=post_channels["music"], title=title, artist=artist).song
        planted.add("song title", song.title)
        planted.add("song artist", song.artist)
    reviews = packed(corpus, 1000)
    for number, title in enumerate(titles):
        film_post = post_create_movie(
            author=author,
            channel=post_channels["movie"],
            title=title,
            year=2000,
            rating=4,
            review=reviews[number] if number < len(reviews) else "",
        )
        planted.add("film title", film_post.movie.title)
        if film_post.text:
            planted.add("film review", film_post.text)
    questions = packed(corpus, 300)
    options = [item[:120] for item in corpus]
    for number in range(max(len(questions), (len(options) + 9) // 10)):
        chosen = list(dict.fromkeys(options[number * 10 : number * 10 + 10])) or ["yes", "no"]
        if len(chosen) < 2:
            chosen.append("none of these")
        poll = post_create_poll(
            author=author,
            channel=post_channels["vote"],
            question=questions[number] if number < len(questions) else f"Question {number}",
            options=chosen,
        ).poll
        planted.add("poll question", poll.question)
        for option in poll.options.all():
            planted.add("poll option", option.text)

    # Chat: a group per payload (its title), messages in one of them, a knock from the author.
    first_group = None
    for item in corpus:
        group = groups.group_create(owner=viewer, title=item[:80])
        first_group = first_group or group
        planted.add("group title", group.title)
    assert first_group is not None
    planted.group_chat_id = first_group.public_id
    for number, text in enumerate(packed(corpus, 2000, separator="\n")):
        sent = chat_services.message_send(sender=viewer, conversation=first_group, text=text, client_id=f"xss-{number}")
        planted.add("chat message", sent.message.text)
    viewers_post = post_create_text(author=viewer, channel=post_channels["text"], text="say hello")
    knock_text = packed(corpus, 2000)[0]
    conversation, sent = chat_services.conversation_knock(
        sender=author, post=viewers_post, text=knock_text, client_id="knock-1"
    )
    planted.knock_chat_id = conversation.public_id
    planted.add("knock", sent.message.text)

    # Stickers: one made by the service; the others share its files and differ by caption.
    made = sticker_create(owner=viewer, image=_tiny_png((240, 180, 40)), caption=corpus[0][:80])
    for number, item in enumerate(corpus[1:], start=1):
        sticker = Sticker.objects.create(
            owner=viewer, base=made.base, image=made.image, caption=clean_caption(item[:80]), status=made.status
        )
        StickerSave.objects.create(user=viewer, sticker=sticker, position=number + 1)
    for sticker in Sticker.objects.filter(owner=viewer):
        planted.add("sticker caption", sticker.caption)

    # What operators and hosts read: reports' texts, removal reasons, a suspension reason.
    reporters = [make_user(username=f"reporter{number}") for number in range(3)]
    report_texts = packed(corpus, 500)
    for number, text in enumerate(report_texts):
        target = channels[number]
        report = report_create(
            reporter=reporters[number % 3], target_kind="channel", target_id=target.public_id, reason="spam", text=text
        )
        planted.add("report text", report.text)
    for number, reason in enumerate(packed(corpus, 500)):
        post = post_create_text(author=author, channel=post_channels["text"], text=f"off topic {number}")
        post_remove(post=post, by=viewer, reason=reason)
        post.refresh_from_db()
        planted.add("removal reason", post.removed_reason)
    suspended_reason = packed(corpus, 500)[0]
    operators.account_suspend(by=viewer, username=suspended.username, days=7, reason=suspended_reason)
    suspended.refresh_from_db()
    planted.add("suspension reason", suspended.suspension_reason)

    # A punch note, by the author on a morning that is inside any window.
    from punches.services import punch_in

    note = corpus[0][:140]
    punch = punch_in(
        user=author,
        channel=punch_channel,
        note=note,
        now=datetime.combine(datetime.now(UTC).date(), time(12, 0), tzinfo=UTC),
    )
    planted.add("punch note", punch.punch.post.text)
    return planted
