"""A realistic dataset at scale, for benchmarks: people, channels of every kind, posts, *same*, punches, chat.

At `scale=1`: 100k people, 10k channels, 1M posts (plus one post per punch), 5M *same*, 1M punches,
1M chat messages in 50k direct conversations and 1k groups, the busiest of them full (200 members).
`scale=0.01` keeps every shape at a hundredth of the size, so a 10k-post dataset and a 1M-post one
differ only in size.

Rows are generated in Python with their ids decided up front, and written with PostgreSQL's `COPY`
(psycopg's `cursor.copy`) or, on SQLite, with `executemany` in batches. Counters (`member_count`,
`post_count`, `last_post_at`, `same_count`, `next_seq`, punch rank and streak) are set from the rows
they count, so a recount finds them right. Everything is reproducible from `seed` (random but fixed).
"""

import base64
import bisect
import io
import itertools
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction

from accounts.usernames import username_key
from core.seed_vocabulary import FILMS, POLLS, SONGS, THEMES, WORDS, ZH_SENTENCES
from interests.categories import CATEGORIES
from interests.models import ChannelKind
from interests.names import channel_name_key
from posts.movies import movie_title_key

SEED_PASSWORD = "seed-password-not-secret"  # noqa: S105  (throwaway accounts in a benchmark database)

# The columns of posts_post that the seed writes, for photo/text posts and for punches' own posts alike.
POST_COLUMNS = [
    "id",
    "public_id",
    "channel_id",
    "author_id",
    "kind",
    "text",
    "same_count",
    "created_at",
    "removed_reason",
]
TIME_ZONES = ("UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
# Share of channels per kind; every kind is present at any scale.
KIND_SHARES = (
    (ChannelKind.TEXT, 0.60),
    (ChannelKind.IMAGE, 0.10),
    (ChannelKind.MUSIC, 0.08),
    (ChannelKind.MOVIE, 0.07),
    (ChannelKind.VOTE, 0.07),
    (ChannelKind.PUNCH, 0.08),
)
DAYS = 90
VIEWER_JOINS = 30


@dataclass(frozen=True)
class Sizes:
    people: int
    channels: int
    posts: int
    sames: int
    punches: int
    messages: int
    directs: int
    groups: int

    @classmethod
    def at(cls, scale: float) -> "Sizes":
        def n(full: int, least: int) -> int:
            return max(least, round(full * scale))

        return cls(
            people=n(100_000, 60),
            channels=n(10_000, 12),
            posts=n(1_000_000, 200),
            sames=n(5_000_000, 500),
            punches=n(1_000_000, 100),
            messages=n(1_000_000, 200),
            directs=n(50_000, 10),
            groups=n(1_000, 2),
        )


class Progress:
    """A one-line progress bar on a stream: what, how far, how fast, how long still."""

    def __init__(self, stream: TextIO, label: str, total: int) -> None:
        self.stream, self.label, self.total = stream, label, max(total, 1)
        self.done = 0
        self.started = self.shown = time.perf_counter()
        self.interactive = stream.isatty()

    def add(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self.shown >= (0.2 if self.interactive else 10.0):
            self.shown = now
            self._show(now, end="\r" if self.interactive else "\n")

    def _show(self, now: float, end: str) -> None:
        elapsed = max(now - self.started, 1e-6)
        share = min(self.done / self.total, 1.0)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate and self.done < self.total else 0.0
        bar = "#" * int(share * 24) + "." * (24 - int(share * 24))
        self.stream.write(
            f"  {self.label:<14} [{bar}] {self.done:>10,} {share:4.0%} {rate:>9,.0f}/s"
            f" {elapsed:6.1f}s eta {eta:5.0f}s\x1b[K{end}"
            if self.interactive
            else f"  {self.label:<14} [{bar}] {self.done:>10,} {share:4.0%} {rate:>9,.0f}/s {elapsed:6.1f}s{end}"
        )
        self.stream.flush()

    def finish(self) -> float:
        now = time.perf_counter()
        self._show(now, end="\n")
        return now - self.started


class _Writer:
    """Rows into one table: `COPY … FROM STDIN` on PostgreSQL, batched `executemany` on SQLite."""

    def __init__(self, table: str, columns: Sequence[str], progress: Progress) -> None:
        self.table, self.columns, self.progress = table, columns, progress
        self.postgres = connection.vendor == "postgresql"
        self.batch: list[tuple[Any, ...]] = []

    def write_all(self, rows: Iterable[tuple[Any, ...]]) -> int:
        names = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        count = 0
        if self.postgres:
            connection.ensure_connection()
            with (
                connection.connection.cursor() as cursor,
                cursor.copy(f"COPY {self.table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    count += 1
                    if count % 5_000 == 0:
                        self.progress.add(5_000)
        else:
            marks = ", ".join("?" for _ in self.columns)
            statement = f"INSERT INTO {self.table} ({names}) VALUES ({marks})"  # noqa: S608  (our own table names)
            raw = connection.connection
            with transaction.atomic():
                for chunk in _chunks(rows, 5_000):
                    raw.executemany(statement, [tuple(_sqlite(v) for v in row) for row in chunk])
                    count += len(chunk)
                    self.progress.add(len(chunk))
        self.progress.add(count % 5_000 if self.postgres else 0)
        return count


def _sqlite(value: Any) -> Any:
    # Django keeps datetimes in SQLite as naive UTC text; every datetime made here is UTC.
    return value.replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime) else value


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    viewer: str = "bench"
    quiet_viewer: str = "bench_quiet"


@dataclass
class _World:
    """What later tables need to know of earlier ones: ids and a few per-row facts, kept compact."""

    people: int = 0  # ids are 1..people (the viewer and the quiet viewer last)
    channel_kinds: list[str] = field(default_factory=list)  # index i is channel id i + 1
    channel_created: list[datetime] = field(default_factory=list)
    channel_names: list[str] = field(default_factory=list)
    post_weights: list[float] = field(default_factory=list)
    members: dict[int, list[int]] = field(default_factory=dict)  # punch channel id → its members
    post_channel: list[int] = field(default_factory=list)  # index j is post id j + 1
    post_author: list[int] = field(default_factory=list)
    post_time: list[datetime] = field(default_factory=list)
    post_sames: list[int] = field(default_factory=list)
    zones: dict[int, str] = field(default_factory=dict)  # person id → time zone name


class ScaleSeeder:
    def __init__(self, sizes: Sizes, *, seed: int = 20261126, stream: TextIO = sys.stdout) -> None:
        self.sizes, self.seed, self.stream = sizes, seed, stream
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.world = _World()
        self.report = Report()

    # ---- helpers -------------------------------------------------------------------------------------------

    def _rng(self, *salt: object) -> random.Random:
        return random.Random(f"{self.seed}:{':'.join(map(str, salt))}")  # noqa: S311  (test data, not secrets)

    @staticmethod
    def _public_id(rng: random.Random) -> str:
        return base64.urlsafe_b64encode(rng.randbytes(12)).decode()

    def _write(
        self, label: str, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], total: int
    ) -> int:
        progress = Progress(self.stream, label, total)
        count = _Writer(table, columns, progress).write_all(rows)
        self.report.seconds[label] = progress.finish()
        self.report.counts[label] = count
        return count

    def _text(self, rng: random.Random) -> str:
        if rng.random() < 0.1:
            return "".join(rng.choices(ZH_SENTENCES, k=rng.randint(1, 3)))
        sentences = []
        for _ in range(rng.randint(1, 4)):
            sentences.append(" ".join(rng.choices(WORDS, k=rng.randint(3, 16))).capitalize() + rng.choice(".!?…"))
        return " ".join(sentences)

    # ---- the steps -----------------------------------------------------------------------------------------

    def run(self) -> Report:
        started = time.perf_counter()
        for name in ("people", "channels", "memberships", "posts", "sames", "side_rows", "punches", "chat"):
            getattr(self, f"_{name}")()
        step = time.perf_counter()
        recount_counters()
        tally_films()
        reset_sequences()
        analyze()
        self.report.seconds["counters, sequences, analyze"] = time.perf_counter() - step
        self.report.seconds["total"] = time.perf_counter() - started
        return self.report

    def _people(self) -> None:
        rng = self._rng("people")
        password = make_password(SEED_PASSWORD)  # one Argon2 hash for everyone
        total = self.sizes.people + 2
        self.world.people = total

        def rows() -> Iterator[tuple[Any, ...]]:
            for index in range(total):
                if index == total - 2:
                    name = self.report.viewer
                elif index == total - 1:
                    name = self.report.quiet_viewer
                else:
                    name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}"[:30]
                joined = self.now - timedelta(days=rng.uniform(DAYS, DAYS * 4))
                yield (
                    index + 1, password, False, self._public_id(rng), name, username_key(name),
                    f"{name}@seed.invalid", True, "", rng.choice(TIME_ZONES), "en", True, True, False, joined, "",
                )  # fmt: skip

        columns = [
            "id",
            "password",
            "is_superuser",
            "public_id",
            "username",
            "username_key",
            "email",
            "email_verified",
            "pending_email",
            "timezone",
            "language",
            "sound_on",
            "is_active",
            "is_staff",
            "date_joined",
            "suspension_reason",
        ]
        self._write("people", "accounts_user", columns, rows(), total)

    def _channels(self) -> None:
        rng = self._rng("channels")
        kinds = [kind for kind, _share in KIND_SHARES]  # one of each kind first
        cum = list(itertools.accumulate(share for _kind, share in KIND_SHARES))
        kinds += [KIND_SHARES[bisect.bisect(cum, rng.random() * cum[-1])][0] for _ in range(self.sizes.channels - 6)]
        categories = list(CATEGORIES)
        postable = [i for i, k in enumerate(kinds) if k != ChannelKind.PUNCH]
        zipf = [1.0 / (rank + 1) ** 1.1 for rank in range(len(postable))]
        rng.shuffle(zipf)
        self.world.post_weights = [0.0] * len(kinds)
        for index, weight in zip(postable, zipf, strict=True):
            self.world.post_weights[index] = weight
        self.world.channel_kinds = [str(k) for k in kinds]

        def rows() -> Iterator[tuple[Any, ...]]:
            for index, kind in enumerate(kinds):
                name = f"{rng.choice(THEMES)[:24]} {index + 1}"
                created = self.now - timedelta(days=rng.uniform(DAYS, DAYS * 4))
                self.world.channel_created.append(created)
                self.world.channel_names.append(name)
                description = self._text(rng)[:500] if rng.random() < 0.85 else ""
                host = rng.randint(1, self.sizes.people)
                yield (
                    index + 1, self._public_id(rng), name, channel_name_key(name), description, "", str(kind),
                    rng.choice(categories), "", host, 0, 0, created, created, False,
                )  # fmt: skip

        columns = [
            "id",
            "public_id",
            "name",
            "name_key",
            "description",
            "rule",
            "kind",
            "category",
            "cover",
            "host_id",
            "member_count",
            "post_count",
            "created_at",
            "last_post_at",
            "is_closed",
        ]
        self._write("channels", "interests_channel", columns, rows(), len(kinds))
        clocks = [i + 1 for i, k in enumerate(kinds) if k == ChannelKind.PUNCH]
        self._write(
            "punch clocks",
            "punches_punchclock",
            ["id", "channel_id", "prompt"],
            ((n + 1, channel_id, "Good morning") for n, channel_id in enumerate(clocks)),
            len(clocks),
        )

    def _memberships(self) -> None:
        """Hosts are members; people join a skewed handful (popular channels more); the viewer joins 30
        channels with the biggest among them; the quiet viewer joins five small text channels."""
        rng = self._rng("memberships")
        world = self.world
        count = len(world.channel_kinds)
        join_cum = list(itertools.accumulate(w + 0.3 / count for w in world.post_weights))
        punch_ids = {i + 1 for i, k in enumerate(world.channel_kinds) if k == ChannelKind.PUNCH}
        world.members = {channel_id: [] for channel_id in punch_ids}
        punch_list = sorted(punch_ids)
        viewer, quiet = world.people - 1, world.people
        text = sorted(
            (i for i, k in enumerate(world.channel_kinds) if k == ChannelKind.TEXT),
            key=lambda i: -world.post_weights[i],
        )
        viewer_picks = {text[0]} | {
            bisect.bisect(join_cum, rng.random() * join_cum[-1]) for _ in range(VIEWER_JOINS * 3)
        }
        viewer_channels = sorted(viewer_picks, key=lambda i: -world.post_weights[i])[:VIEWER_JOINS]
        quiet_channels = text[-6:-1] if len(text) > 6 else text[-1:]

        def rows() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for user in range(1, world.people + 1):
                if user == viewer:
                    chosen = {i + 1 for i in viewer_channels}
                elif user == quiet:
                    chosen = {i + 1 for i in quiet_channels}
                else:
                    k = min(int(rng.expovariate(1 / 9)) + 1, 80)
                    chosen = {bisect.bisect(join_cum, rng.random() * join_cum[-1]) + 1 for _ in range(k)}
                    if rng.random() < 0.25:  # a quarter of people keep a daily ritual
                        chosen.add(rng.choice(punch_list))
                for channel_id in sorted(chosen):
                    if channel_id in world.members:
                        world.members[channel_id].append(user)
                    yield next_id, channel_id, user, self.now - timedelta(days=rng.uniform(0, DAYS))
                    next_id += 1

        self._write(
            "memberships",
            "interests_membership",
            ["id", "channel_id", "user_id", "joined_at"],
            rows(),
            round(world.people * 10.3),
        )
        add_host_memberships()  # hosts are members of their channels, as channel_create makes them

    def _posts(self) -> None:
        """Posts in time order, in the postable channels by a Zipf law; the punch posts come with the punches."""
        rng = self._rng("posts")
        world, total = self.world, self.sizes.posts
        span = DAYS * 86_400.0
        offsets = sorted(rng.random() * span for _ in range(total))
        cum = list(itertools.accumulate(world.post_weights))
        author_cum = list(itertools.accumulate(1.0 / (r + 1) ** 0.8 for r in range(world.people)))
        authors = list(range(1, world.people + 1))
        rng.shuffle(authors)
        draws = [rng.paretovariate(1.4) - 1.0 for _ in range(total)]
        factor = self.sizes.sames / max(sum(draws), 1.0)
        cap = world.people - 1
        world.post_sames = [min(int(d * factor + rng.random()), cap) for d in draws]
        start = self.now - timedelta(seconds=span)

        def rows() -> Iterator[tuple[Any, ...]]:
            for index, offset in enumerate(offsets):
                channel = bisect.bisect(cum, rng.random() * cum[-1]) + 1
                author = authors[bisect.bisect(author_cum, rng.random() * author_cum[-1])]
                created = start + timedelta(seconds=offset)
                kind = world.channel_kinds[channel - 1]
                world.post_channel.append(channel)
                world.post_author.append(author)
                world.post_time.append(created)
                text = (
                    ""
                    if kind == ChannelKind.VOTE or (kind == ChannelKind.IMAGE and rng.random() < 0.4)
                    else self._text(rng)
                )
                yield index + 1, self._public_id(rng), channel, author, kind, text, world.post_sames[index], created, ""

        self._write("posts", "posts_post", POST_COLUMNS, rows(), total)

    def _sames(self) -> None:
        """Each post's *same* presses by distinct people, never its author, after the post."""
        rng = self._rng("sames")
        world = self.world

        def rows() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for index, count in enumerate(world.post_sames):
                if not count:
                    continue
                author, created = world.post_author[index], world.post_time[index]
                room = (self.now - created).total_seconds()
                for pick in rng.sample(range(1, world.people), count):
                    user = pick + 1 if pick >= author else pick  # skip over the author
                    yield next_id, index + 1, user, created + timedelta(seconds=min(rng.expovariate(1 / 7200), room))
                    next_id += 1

        self._write("sames", "posts_same", ["id", "post_id", "user_id", "created_at"], rows(), sum(world.post_sames))

    def _image_pool(self) -> list[tuple[str, str, int, int, int, int]]:
        """A few real pictures, processed as an upload would be; image posts share them."""
        from PIL import Image

        from media.images import process_image

        rng = self._rng("images")
        pool = []
        for index in range(6):
            width, height = rng.choice(((1600, 1200), (1200, 1600), (1440, 1440)))
            colour = tuple(rng.randrange(256) for _ in range(3))
            picture = Image.new("RGB", (width, height), colour)
            for _ in range(12):
                x, y = rng.randrange(width), rng.randrange(height)
                shade = tuple(rng.randrange(256) for _ in range(3))
                picture.paste(
                    shade, (x, y, min(width, x + rng.randint(80, 600)), min(height, y + rng.randint(80, 600)))
                )
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=90)
            processed = process_image(buffer.getvalue(), max_side=2560)
            stem = f"posts/seed-{self.seed}-{index}"
            image = default_storage.save(f"{stem}.{processed.extension}", ContentFile(processed.content))
            thumb = default_storage.save(f"{stem}-thumb.{processed.thumb_extension}", ContentFile(processed.thumb))
            pool.append(
                (image, thumb, processed.width, processed.height, processed.thumb_width, processed.thumb_height)
            )
        return pool

    def _side_rows(self) -> None:
        """What a photo, music, movie or vote post cannot live without."""
        rng = self._rng("side")
        world = self.world
        by_kind: dict[str, list[int]] = {k: [] for k in ("image", "music", "movie", "vote")}
        for index, channel in enumerate(world.post_channel):
            kind = world.channel_kinds[channel - 1]
            if kind in by_kind:
                by_kind[kind].append(index + 1)
        pool = self._image_pool()

        def images() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for post in by_kind["image"]:
                for position in range(rng.choice((1, 1, 1, 2, 3, 4))):
                    yield (next_id, post, position, *rng.choice(pool))
                    next_id += 1

        self._write(
            "post images",
            "posts_postimage",
            ["id", "post_id", "position", "image", "thumb", "width", "height", "thumb_width", "thumb_height"],
            images(),
            len(by_kind["image"]) * 2,
        )
        self._write(
            "songs",
            "posts_song",
            ["id", "post_id", "title", "artist", "audio", "audio_mime", "cover"],
            ((n + 1, post, *rng.choice(SONGS), "", "", "") for n, post in enumerate(by_kind["music"])),
            len(by_kind["music"]),
        )

        def movies() -> Iterator[tuple[Any, ...]]:
            for n, post in enumerate(by_kind["movie"]):
                title, year = rng.choice(FILMS)
                yield n + 1, post, title, movie_title_key(title), year, rng.randint(1, 5), ""

        self._write(
            "movies",
            "posts_movie",
            ["id", "post_id", "title", "title_key", "year", "rating", "poster"],
            movies(),
            len(by_kind["movie"]),
        )
        questions = [rng.randrange(len(POLLS)) for _ in by_kind["vote"]]
        self._write(
            "polls",
            "posts_poll",
            ["id", "post_id", "question", "multiple", "ballot_count"],
            (
                (n + 1, post, POLLS[q][0], False, 0)
                for n, (post, q) in enumerate(zip(by_kind["vote"], questions, strict=True))
            ),
            len(questions),
        )

        def options() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for poll, question in enumerate(questions, start=1):
                for position, text in enumerate(POLLS[question][1]):
                    yield next_id, self._public_id(rng), poll, position, text, 0
                    next_id += 1

        self._write(
            "poll options",
            "posts_polloption",
            ["id", "public_id", "poll_id", "position", "text", "votes"],
            options(),
            len(questions) * 3,
        )

    def _punch_plan(self) -> Iterator[tuple[int, int, datetime, date, int, str, int, int]]:
        """Every punch, in a fixed order: (channel, user, moment, local date, local seconds, zone, streak, rank).

        Members of a punch channel punch on a share of the days that makes the wanted total; most in the
        morning of their own time zone. Ranks count the earlier punches of that channel and local day."""
        rng = self._rng("punches")
        world = self.world
        slots = sum(len(m) for m in world.members.values()) * DAYS
        share = min(1.0, self.sizes.punches / max(slots, 1))
        zones = {name: ZoneInfo(name) for name in TIME_ZONES}
        user_zone = self.world.zones
        today = self.now.date()
        for channel in sorted(world.members):
            habits = {user: min(1.0, share * rng.uniform(0.4, 1.6)) for user in world.members[channel]}
            streaks: dict[int, tuple[date, int]] = {}
            for back in range(DAYS, 0, -1):
                day = today - timedelta(days=back)
                seconds = sorted(
                    (min(86_399, max(0, int(rng.gauss(7.5 * 3600, 2 * 3600)))), user)
                    for user, habit in habits.items()
                    if rng.random() < habit
                )
                earlier = 0
                for position, (second, user) in enumerate(seconds):
                    if position and seconds[position - 1][0] < second:
                        earlier = position
                    last = streaks.get(user)
                    streak = last[1] + 1 if last and last[0] == day - timedelta(days=1) else 1
                    streaks[user] = (day, streak)
                    zone = user_zone[user]
                    local = datetime(day.year, day.month, day.day, tzinfo=zones[zone]) + timedelta(seconds=second)
                    yield channel, user, local.astimezone(UTC), day, second, zone, streak, earlier + 1

    def _user_zones(self) -> dict[int, str]:
        # The people step drew each zone from its own generator; read them back rather than replay it.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, timezone FROM accounts_user")
            return dict(cursor.fetchall())

    def _punches(self) -> None:
        """One post per punch (kind punch), then the punches; both tables walk the same plan."""
        first_post = len(self.world.post_channel) + 1
        self.world.zones = self._user_zones()  # read before a COPY holds the connection
        notes = self._rng("punch notes")

        def posts() -> Iterator[tuple[Any, ...]]:
            for n, (channel, user, moment, *_rest) in enumerate(self._punch_plan()):
                note = "" if notes.random() < 0.6 else " ".join(notes.choices(WORDS, k=notes.randint(1, 5)))
                yield first_post + n, self._public_id(notes), channel, user, "punch", note, 0, moment, ""

        self._write("punch posts", "posts_post", POST_COLUMNS, posts(), self.sizes.punches)
        ids = self._rng("punch ids")

        def punches() -> Iterator[tuple[Any, ...]]:
            for n, (channel, user, moment, day, second, zone, streak, rank) in enumerate(self._punch_plan()):
                yield (
                    n + 1,
                    self._public_id(ids),
                    channel,
                    user,
                    first_post + n,
                    moment,
                    day,
                    second,
                    zone,
                    streak,
                    rank,
                )

        columns = [
            "id",
            "public_id",
            "channel_id",
            "user_id",
            "post_id",
            "punched_at",
            "local_date",
            "local_seconds",
            "time_zone",
            "streak",
            "rank",
        ]
        self._write("punches", "punches_punch", columns, punches(), self.sizes.punches)

    def _chat(self) -> None:
        """Direct conversations started by a knock on a post, groups (some of them channels' group chats),
        their members, and messages numbered 1…n in each, heavy-tailed over conversations."""
        rng = self._rng("chat")
        world, sizes = self.world, self.sizes
        plans: list[tuple[str, list[int], datetime, datetime, int, int | None, int | None, str, str]] = []
        for _ in range(sizes.directs):
            post = rng.randrange(len(world.post_author))
            other = world.post_author[post]
            knocker = rng.randint(1, world.people - 1)
            knocker = knocker + 1 if knocker >= other else knocker
            state = "request" if rng.random() < 0.1 else "active"
            plans.append(("direct", [knocker, other], world.post_time[post], self.now, 0, post + 1, None, state, ""))
        channel_groups = [i for i, k in enumerate(world.channel_kinds) if k != ChannelKind.PUNCH]
        rng.shuffle(channel_groups)
        busiest = len(plans)  # the first group is full (200 members) and gets the most messages: the hardest page
        for index in range(sizes.groups):
            size = 200 if index == 0 else min(200, 3 + int(rng.paretovariate(1.2) * 8))
            members = rng.sample(range(1, world.people + 1), min(size, world.people))
            channel = channel_groups[index] + 1 if index < len(channel_groups) and index % 4 == 0 else None
            title = world.channel_names[channel - 1] if channel else f"{rng.choice(THEMES)} group {index + 1}"[:80]
            started = self.now - timedelta(days=rng.uniform(1, DAYS))
            plans.append(("group", members, started, self.now, 0, None, channel, "active", title))
        # Requests hold at most 3 messages (the knocker's); the rest is spread, heavy-tailed, over the others.
        weights = [
            0.0 if plan[7] == "request" else rng.paretovariate(1.3) * (4 if plan[0] == "group" else 1) for plan in plans
        ]
        weights[busiest] = max(weights) * 1.5
        factor = (sizes.messages - 2 * weights.count(0.0)) / sum(weights)
        counts = [rng.randint(1, 3) if w == 0.0 else max(1, int(w * factor + rng.random())) for w in weights]
        last_times: list[datetime] = []
        for index, plan in enumerate(plans):
            begin = plan[2]
            last_times.append(begin + (self.now - begin) * rng.uniform(0.2, 1.0) if counts[index] else begin)

        def conversations() -> Iterator[tuple[Any, ...]]:
            for index, (kind, members, begin, _end, _n, post, channel, state, title) in enumerate(plans):
                yield (
                    index + 1, self._public_id(rng), kind, title, "", channel, state, post, members[0], begin,
                    last_times[index], counts[index] + 1,
                )  # fmt: skip

        columns = [
            "id",
            "public_id",
            "kind",
            "title",
            "cover",
            "channel_id",
            "state",
            "origin_post_id",
            "started_by_id",
            "created_at",
            "last_message_at",
            "next_seq",
        ]
        self._write("conversations", "chat_conversation", columns, conversations(), len(plans))

        def participants() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for index, (kind, members, begin, *_rest) in enumerate(plans):
                for position, user in enumerate(members):
                    role = "owner" if kind == "group" and position == 0 else "member"
                    read = counts[index] if rng.random() < 0.6 else rng.randint(0, counts[index])
                    yield next_id, index + 1, user, begin, read, False, role, False
                    next_id += 1

        columns = ["id", "conversation_id", "user_id", "joined_at", "last_read_seq", "ignored", "role", "muted"]
        total = sum(len(p[1]) for p in plans)
        self._write("participants", "chat_participant", columns, participants(), total)

        def messages() -> Iterator[tuple[Any, ...]]:
            next_id = 1
            for index, (_kind, members, begin, *_rest) in enumerate(plans):
                count, end = counts[index], last_times[index]
                step = (end - begin) / count
                for seq in range(1, count + 1):
                    sender = members[0] if plans[index][7] == "request" else rng.choice(members)
                    moment = end if seq == count else begin + step * seq
                    text = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
                    yield (
                        next_id,
                        self._public_id(rng),
                        index + 1,
                        seq,
                        sender,
                        "text",
                        text,
                        "",
                        "",
                        "",
                        f"s{next_id}",
                        moment,
                    )
                    next_id += 1

        columns = [
            "id",
            "public_id",
            "conversation_id",
            "seq",
            "sender_id",
            "kind",
            "text",
            "audio",
            "image",
            "thumb",
            "client_id",
            "created_at",
        ]
        self._write("messages", "chat_message", columns, messages(), sum(counts))


def add_host_memberships() -> None:
    """Every host is a member of their channel (as `channel_create` makes them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM interests_membership")
        (top,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO interests_membership (id, channel_id, user_id, joined_at)"
            " SELECT %s + ROW_NUMBER() OVER (ORDER BY c.id), c.id, c.host_id, c.created_at FROM interests_channel c"
            " WHERE c.host_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM interests_membership m WHERE m.channel_id = c.id AND m.user_id = c.host_id)",
            [top],
        )


def recount_counters() -> None:
    """Channel counters from the rows they count: one UPDATE … FROM per counter."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE interests_channel SET member_count = agg.n"
            " FROM (SELECT channel_id, COUNT(*) AS n FROM interests_membership GROUP BY channel_id) AS agg"
            " WHERE interests_channel.id = agg.channel_id"
        )
        cursor.execute(
            "UPDATE interests_channel SET post_count = agg.n, last_post_at = agg.last"
            " FROM (SELECT channel_id, COUNT(*) AS n, MAX(created_at) AS last FROM posts_post"
            " WHERE removed_at IS NULL GROUP BY channel_id) AS agg"
            " WHERE interests_channel.id = agg.channel_id"
        )


def tally_films() -> None:
    """Each film's standing in each channel (posts.models.FilmTally), from the movie posts written."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM posts_filmtally")
        cursor.execute(
            "INSERT INTO posts_filmtally (channel_id, title_key, year, posts, stars)"
            " SELECT p.channel_id, m.title_key, COALESCE(m.year, 0), COUNT(*), SUM(m.rating)"
            " FROM posts_movie m JOIN posts_post p ON p.id = m.post_id WHERE p.removed_at IS NULL"
            " GROUP BY p.channel_id, m.title_key, COALESCE(m.year, 0)"
        )


TABLES = (
    "accounts_user",
    "interests_channel",
    "interests_membership",
    "punches_punchclock",
    "posts_post",
    "posts_same",
    "posts_postimage",
    "posts_song",
    "posts_movie",
    "posts_poll",
    "posts_polloption",
    "punches_punch",
    "chat_conversation",
    "chat_participant",
    "chat_message",
)


def reset_sequences() -> None:
    """After rows with explicit ids, the next id the database hands out must be above them (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id by itself
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"  # noqa: S608
            )


def analyze() -> None:
    with connection.cursor() as cursor:
        # VACUUM (fresh visibility map, as a live site has) cannot run inside a transaction, e.g. a test's.
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")


def tables_empty() -> bool:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608  (a fixed list of our tables)
            if cursor.fetchone():
                return False
    return True


def seed_scale(scale: float, *, seed: int = 20261126, stream: TextIO = sys.stdout) -> Report:
    """Fill empty tables with the dataset at `scale` (1 = a million posts)."""
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError("scale must be a positive number")
    return ScaleSeeder(Sizes.at(scale), seed=seed, stream=stream).run()
