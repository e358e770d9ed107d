"""The recommendation engine: pure functions over plain Python data, no Django, no NumPy.

Everything is keyed by integer ids, so the same code runs on the database's rows (tasks.py) and
on the synthetic communities of bench/recs_eval.py. The method, and the evaluation that chose it,
are in docs/recommendations.md. In short:

1. A person's *profile* weighs the channels they touched: a join counts 1, each *same* pressed in
   a channel 0.35, a vote or a punch 0.2, capped at 2 per channel.
2. Channels are linked to *neighbours* two ways, blended: item–item collaborative filtering
   (cosine of the sets of people who touched both, shrunk towards 0 when few did, and only
   counting pairs that at least MIN_CROWD people share), and content similarity of name,
   description and rule (IDF-weighted character n-grams: bigrams of Chinese characters, trigrams
   of Latin words — no word segmentation, no model to download).
3. A person's candidates are their profile's neighbours, scored by the weighted sum of
   similarities plus a little popularity; the person's own channel that contributed most is the
   reason. The top of the list is diversified (a cap per category and per reason).
4. Whoever has no usable history gets the *starter* list: popular, active-small and new channels,
   taken in turn across categories.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

JOIN, SAME, VOTE, PUNCH = "join", "same", "vote", "punch"
SIGNAL_WEIGHTS = {JOIN: 1.0, SAME: 0.35, VOTE: 0.2, PUNCH: 0.2}
SIGNAL_CAP = 2.0
# A link between two channels counts only when at least this many people touched both: a
# recommendation then never stands on what one or two identifiable people did.
MIN_CROWD = 3

# Reasons. The first two name one of the viewer's *own* channels; the others a category.
JOINED, FELT_SAME, POPULAR, ACTIVE, NEW = "joined", "felt_same", "popular", "active", "new"
PERSONAL_REASONS = frozenset({JOINED, FELT_SAME})

Profile = dict[int, float]
Neighbours = dict[int, dict[int, float]]


@dataclass(frozen=True, slots=True)
class Params:
    """The knobs, at the values the evaluation chose (docs/recommendations.md)."""

    neighbours: int = 40  # kept per channel
    cf_shrink: float = 5.0  # sim *= n / (n + shrink): few shared people, less trust
    content_weight: float = 0.5  # content similarity's share beside co-membership
    content_grams: int = 40  # a channel's rarest n-grams, the ones compared
    content_max_df: float = 0.01  # n-grams in more than this share of channels say little, and cost most
    content_min_sim: float = 0.08
    profile_items: int = 50  # a heavy user's strongest channels only
    prior_weight: float = 0.02  # popularity, to break ties and fill thin profiles
    max_per_category: int = 5  # in the first `diversify_top` suggestions
    max_per_reason: int = 4
    diversify_top: int = 10


DEFAULT = Params()


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    id: int
    category: str
    members: int
    age_days: float  # since it opened
    idle_days: float  # since its last post


@dataclass(frozen=True, slots=True)
class Suggestion:
    channel: int
    score: float
    reason: str
    via: int | None = None  # the viewer's own channel a personal reason names


# Profiles ---------------------------------------------------------------------------------------


def build_profiles(events: Iterable[tuple[int, int, str]]) -> tuple[dict[int, Profile], dict[int, set[int]]]:
    """(person, channel, kind) events → each person's weighted channels, and the channels they joined."""
    profiles: dict[int, Profile] = defaultdict(dict)
    joined: dict[int, set[int]] = defaultdict(set)
    for person, channel, kind in events:
        profile = profiles[person]
        profile[channel] = min(SIGNAL_CAP, profile.get(channel, 0.0) + SIGNAL_WEIGHTS[kind])
        if kind == JOIN:
            joined[person].add(channel)
    return dict(profiles), dict(joined)


def _strongest(profile: Profile, limit: int) -> list[tuple[int, float]]:
    if len(profile) <= limit:
        return list(profile.items())
    return heapq.nlargest(limit, profile.items(), key=lambda item: item[1])


# Neighbours -------------------------------------------------------------------------------------


def cf_neighbours(profiles: Iterable[Profile], params: Params = DEFAULT) -> Neighbours:
    """Item–item cosine over who touched which channel, via an inverted index: one channel's
    co-occurrence counter at a time, so memory holds only the kept neighbours."""
    baskets: list[tuple[int, ...]] = []
    holders: dict[int, list[int]] = defaultdict(list)
    for profile in profiles:
        basket = tuple(channel for channel, _weight in _strongest(profile, params.profile_items))
        index = len(baskets)
        baskets.append(basket)
        for channel in basket:
            holders[channel].append(index)
    count = {channel: len(people) for channel, people in holders.items()}
    shrink = params.cf_shrink
    result: Neighbours = {}
    for channel, people in holders.items():
        if len(people) < MIN_CROWD:
            continue
        together: Counter[int] = Counter()
        for person in people:
            together.update(baskets[person])
        del together[channel]
        mine = count[channel]
        best = heapq.nlargest(
            params.neighbours,
            (
                (shared / math.sqrt(mine * count[other]) * shared / (shared + shrink), other)
                for other, shared in together.items()
                if shared >= MIN_CROWD
            ),
        )
        if best:
            result[channel] = {other: sim for sim, other in best}
    return result


_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W\d_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def text_grams(text: str) -> set[str]:
    """Character n-grams that work without word segmentation: bigrams of Chinese characters (a
    lone character stands for itself), trigrams of each Latin word padded with spaces."""
    grams: set[str] = set()
    for run in _RUNS.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _HAN.match(run):
            if len(run) == 1:
                grams.add(run)
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
        elif len(run) > 1:
            padded = f" {run} "
            grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def content_neighbours(texts: Mapping[int, str], params: Params = DEFAULT) -> Neighbours:
    """Cosine of IDF-weighted n-gram sets, each channel reduced to its rarest `content_grams`."""
    gram_sets = {channel: text_grams(text) for channel, text in texts.items()}
    df: Counter[str] = Counter()
    for grams in gram_sets.values():
        df.update(grams)
    total = max(len(texts), 1)
    cap = max(20, int(total * params.content_max_df))
    idf = {gram: math.log(total / n) for gram, n in df.items() if 2 <= n <= cap}
    vectors: dict[int, list[tuple[float, str]]] = {}
    postings: dict[str, list[int]] = defaultdict(list)
    for channel, grams in gram_sets.items():
        kept = heapq.nlargest(params.content_grams, ((idf[g], g) for g in grams if g in idf))
        if kept:
            vectors[channel] = kept
            for _weight, gram in kept:
                postings[gram].append(channel)
    norms = {channel: math.sqrt(sum(w * w for w, _g in vector)) for channel, vector in vectors.items()}
    result: Neighbours = {}
    for channel, vector in vectors.items():
        dots: dict[int, float] = defaultdict(float)
        for weight, gram in vector:
            square = weight * weight
            for other in postings[gram]:
                dots[other] += square
        dots.pop(channel, None)
        mine = norms[channel]
        best = heapq.nlargest(
            params.neighbours,
            ((dot / (mine * norms[other]), other) for other, dot in dots.items()),
        )
        kept_sims = {other: sim for sim, other in best if sim >= params.content_min_sim}
        if kept_sims:
            result[channel] = kept_sims
    return result


def blend(cf: Neighbours, content: Neighbours, params: Params = DEFAULT) -> Neighbours:
    """Co-membership links, plus content links that touch a channel co-membership knows nothing of
    (too new or too small for MIN_CROWD shared people), at `content_weight`.

    On the evaluation, content links between channels that both have co-membership links only
    dilute them (docs/recommendations.md); for a new channel they are the only way in.
    """
    result: Neighbours = {channel: dict(links) for channel, links in cf.items()}
    weight = params.content_weight
    for channel, links in content.items():
        source_known = channel in cf
        for other, sim in links.items():
            if source_known and other in cf:
                continue
            merged = result.setdefault(channel, {})
            merged[other] = merged.get(other, 0.0) + weight * sim
    for channel, merged in result.items():
        if len(merged) > params.neighbours:
            result[channel] = dict(heapq.nlargest(params.neighbours, merged.items(), key=lambda item: item[1]))
    return result


# Popularity and the starter list ----------------------------------------------------------------


def popularity_prior(members: Mapping[int, int]) -> dict[int, float]:
    """log(1 + members), scaled to [0, 1]."""
    top = math.log1p(max(members.values(), default=0)) or 1.0
    return {channel: math.log1p(n) / top for channel, n in members.items()}


NEW_DAYS = 14.0
ACTIVE_DAYS = 7.0


def starter(channels: Sequence[ChannelFacts], *, size: int = 60) -> list[Suggestion]:
    """A varied start for someone with no history: categories in turn (the liveliest first), each
    offering in turn a popular channel, a small active one and a new one — the kinds staggered
    across categories, so even a short list holds all three."""
    by_category: dict[str, list[ChannelFacts]] = defaultdict(list)
    for facts in channels:
        by_category[facts.category].append(facts)

    def liveliness(facts: ChannelFacts) -> float:
        return math.log1p(facts.members) * math.exp(-facts.idle_days / ACTIVE_DAYS)

    queues: dict[str, list[list[Suggestion]]] = {}
    for category, members in by_category.items():
        fresh = sorted((f for f in members if f.age_days <= NEW_DAYS), key=lambda f: f.age_days)
        settled = [f for f in members if f.age_days > NEW_DAYS]
        popular = sorted(settled, key=liveliness, reverse=True)
        median = sorted(f.members for f in settled)[len(settled) // 2] if settled else 0
        small = sorted(
            (f for f in settled if f.members <= median and f.idle_days <= ACTIVE_DAYS),
            key=lambda f: f.idle_days,
        )
        queues[category] = [
            [Suggestion(f.id, liveliness(f), POPULAR) for f in popular],
            [Suggestion(f.id, liveliness(f), ACTIVE) for f in small],
            [Suggestion(f.id, liveliness(f), NEW) for f in fresh],
        ]
    order = sorted(by_category, key=lambda c: -sum(liveliness(f) for f in by_category[c]))
    picked: list[Suggestion] = []
    seen: set[int] = set()
    turn = 0
    while len(picked) < size and any(any(q) for q in queues.values()):
        for place, category in enumerate(order):
            lanes = queues[category]
            for offset in range(3):
                lane = lanes[(turn + place + offset) % 3]
                while lane and lane[0].channel in seen:
                    lane.pop(0)
                if lane:
                    suggestion = lane.pop(0)
                    seen.add(suggestion.channel)
                    picked.append(suggestion)
                    break
            if len(picked) >= size:
                break
        turn += 1
    return picked


# One person's suggestions -----------------------------------------------------------------------


def recommend(
    *,
    profile: Profile,
    joined: AbstractSet[int],
    exclude: AbstractSet[int],
    neighbours: Neighbours,
    prior: Mapping[int, float],
    category_of: Mapping[int, str],
    fallback: Sequence[Suggestion] = (),
    dislikes: Iterable[int] = (),
    size: int = 20,
    params: Params = DEFAULT,
    diversify: bool = True,
) -> list[Suggestion]:
    """Channels this person has not joined, best first, each with the reason it is there.

    `exclude` (joined, dismissed, closed) never appears; `dislikes` (channels the person said
    "not interested" to) push their neighbours down; `fallback` fills what the profile can't.
    """
    items = _strongest(profile, params.profile_items)
    scores: dict[int, float] = defaultdict(float)
    for channel, weight in items:
        for other, sim in neighbours.get(channel, {}).items():
            scores[other] += weight * sim
    for channel in dislikes:
        for other, sim in neighbours.get(channel, {}).items():
            if other in scores:
                scores[other] -= 0.5 * sim
    for channel in exclude | joined | profile.keys():
        scores.pop(channel, None)
    prior_weight = params.prior_weight
    # Enough beyond `size` for diversification to have something to move up.
    ranked = heapq.nlargest(
        size + params.diversify_top,
        ((score + prior_weight * prior.get(channel, 0.0), channel) for channel, score in scores.items() if score > 0),
    )
    sources = [(channel, weight, neighbours.get(channel, {})) for channel, weight in items]
    suggestions: list[Suggestion] = []
    for score, channel in ranked:
        # The reason: the person's own channel that contributed most.
        via, best = None, 0.0
        for source, weight, links in sources:
            contribution = weight * links.get(channel, 0.0)
            if contribution > best:
                via, best = source, contribution
        reason = JOINED if via in joined else FELT_SAME
        suggestions.append(Suggestion(channel, score, reason, via))
    if diversify:
        suggestions = _diversified(suggestions, category_of, params)
    taken = {s.channel for s in suggestions}
    for suggestion in fallback:
        if len(suggestions) >= size:
            break
        if suggestion.channel not in taken and suggestion.channel not in exclude and suggestion.channel not in joined:
            taken.add(suggestion.channel)
            suggestions.append(Suggestion(suggestion.channel, 0.0, suggestion.reason))
    return suggestions[:size]


def _diversified(ranked: list[Suggestion], category_of: Mapping[int, str], params: Params) -> list[Suggestion]:
    """The first `diversify_top` places hold at most `max_per_category` of one category and
    `max_per_reason` with one reason; what is pushed out follows, still in score order."""
    top: list[Suggestion] = []
    later: list[Suggestion] = []
    per_category: Counter[str] = Counter()
    per_reason: Counter[int | None] = Counter()
    for suggestion in ranked:
        category = category_of.get(suggestion.channel, "")
        if (
            len(top) < params.diversify_top
            and per_category[category] < params.max_per_category
            and per_reason[suggestion.via] < params.max_per_reason
        ):
            top.append(suggestion)
            per_category[category] += 1
            per_reason[suggestion.via] += 1
        else:
            later.append(suggestion)
    return top + later


def recommend_all(
    *,
    profiles: Mapping[int, Profile],
    joined: Mapping[int, AbstractSet[int]],
    channels: Sequence[ChannelFacts],
    closed: AbstractSet[int] = frozenset(),
    texts: Mapping[int, str] | None = None,
    dislikes: Mapping[int, AbstractSet[int]] | None = None,
    size: int = 20,
    params: Params = DEFAULT,
    people: Iterable[int] | None = None,
    with_fallback: bool = True,
) -> tuple[Neighbours, dict[int, list[Suggestion]]]:
    """The whole recompute: neighbours, then every person's (or `people`'s) suggestions.

    `with_fallback=False` keeps only personal suggestions: the app fills the rest at read time
    from the starter list, which changes faster than a scheduled run.
    """
    neighbours = cf_neighbours(profiles.values(), params)
    if texts is not None:
        neighbours = blend(neighbours, content_neighbours(texts, params), params)
    prior = popularity_prior({c.id: c.members for c in channels})
    category_of = {c.id: c.category for c in channels}
    fallback = starter([c for c in channels if c.id not in closed], size=size * 3) if with_fallback else []
    dislikes = dislikes or {}
    result: dict[int, list[Suggestion]] = {}
    for person in people if people is not None else profiles.keys():
        mine = dislikes.get(person, set())
        result[person] = recommend(
            profile=profiles.get(person, {}),
            joined=joined.get(person, set()),
            exclude=closed | mine,
            neighbours=neighbours,
            prior=prior,
            category_of=category_of,
            fallback=fallback,
            dislikes=mine,
            size=size,
            params=params,
        )
    return neighbours, result
