"""Evaluate "Channels for you" on synthetic communities with known interests, and time the recompute.

Usage (from the repository root; no database, no Django — recommendations/engine.py is pure Python):

    .venv/bin/python bench/recs_eval.py                  # 1k and 10k people: quality table
    .venv/bin/python bench/recs_eval.py --sizes 1000 10000 100000
    .venv/bin/python bench/recs_eval.py --timing 100000  # the full recompute at 100k people only

The generator (documented in docs/recommendations.md): channels = people / 10, grouped into
interests (channels / 25 of them, Zipf-sized, each in one of 16 categories; 40 % of interests speak
Chinese). A channel's text mixes its interest's words with generic ones; its popularity is
log-normal. A person has 1–4 interests; about 6.6 joins on average (log-normal), 85 % within their
interests (picked by popularity), 15 % anywhere (by popularity: noise with popularity skew); and
about half as many *same* presses, mostly in joined channels. At 100k people: 10k channels and
~1M signals.

Leave-out: for up to --eval-people people with ≥ 3 joins, 20 % of their joins (at least one) are
hidden, with their *same* presses in those channels; the model learns from the rest and its top 10
is scored against the hidden joins: recall@10 (hits / min(10, hidden)) and NDCG@10. Cold start: other
people with ≥ 5 joins keep only 2 joins and nothing else; the rest is hidden. New channels: 2 % of
the channels with ≥ 5 members keep only their first 2 members; for other people who joined one,
that join is hidden (new-channel recall@10). Baselines: random unjoined channels, and the most
popular ones (by training members).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommendations import engine

CATEGORIES = [
    "moods",
    "life",
    "rituals",
    "study",
    "work",
    "music",
    "film",
    "books",
    "photography",
    "art",
    "sports",
    "pets",
    "food",
    "travel",
    "games",
    "tech",
]
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "qui", "zan", "dro", "pel", "fin", "gra", "hul", "ost", "wey"]
TOP = 10


@dataclass
class Community:
    channels: list[engine.ChannelFacts]
    texts: dict[int, str]
    channel_interest: list[int]
    person_interests: list[list[int]]
    events: list[tuple[int, int, str]]  # (person, channel, kind)
    signals: int = 0
    joins_of: dict[int, list[int]] = field(default_factory=dict)


def _word(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(2))
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def generate(people: int, seed: int = 7) -> Community:
    rng = random.Random(seed)
    n_channels = max(50, people // 10)
    n_interests = max(8, n_channels // 25)
    interest_weight = [1 / (i + 1) ** 0.7 for i in range(n_interests)]
    interest_category = [rng.randrange(len(CATEGORIES)) for _ in range(n_interests)]
    interest_chinese = [rng.random() < 0.4 for _ in range(n_interests)]
    vocab = [[_word(rng, interest_chinese[i]) for _ in range(6)] for i in range(n_interests)]
    generic = [_word(rng, False) for _ in range(60)] + [_word(rng, True) for _ in range(40)]

    channel_interest = rng.choices(range(n_interests), weights=interest_weight, k=n_channels)
    quality = [rng.lognormvariate(0, 1.2) for _ in range(n_channels)]
    ages = [rng.expovariate(1 / 300) for _ in range(n_channels)]
    texts: dict[int, str] = {}
    for c, interest in enumerate(channel_interest):
        words = [rng.choice(vocab[interest]) for _ in range(rng.randint(1, 2))]
        words += [rng.choice(vocab[interest]) if rng.random() < 0.45 else rng.choice(generic) for _ in range(6)]
        texts[c] = " ".join(words)

    by_interest: list[list[int]] = [[] for _ in range(n_interests)]
    for c, interest in enumerate(channel_interest):
        by_interest[interest].append(c)
    interest_cum = [_cumulative([quality[c] for c in members]) for members in by_interest]
    all_cum = _cumulative(quality)
    live_interests = [i for i in range(n_interests) if by_interest[i]]
    live_weights = [interest_weight[i] for i in live_interests]

    events: list[tuple[int, int, str]] = []
    person_interests: list[list[int]] = []
    joins_of: dict[int, list[int]] = {}
    for p in range(people):
        k = rng.choices([1, 2, 3, 4], weights=[0.35, 0.35, 0.2, 0.1])[0]
        mine = list({rng.choices(live_interests, weights=live_weights)[0] for _ in range(k)})
        person_interests.append(mine)

        def pick(*, inside: bool, mine: list[int] = mine) -> int:
            if inside:
                interest = rng.choice(mine)
                return by_interest[interest][_draw(rng, interest_cum[interest])]
            return _draw(rng, all_cum)

        n_joins = min(200, max(1, round(rng.lognormvariate(math.log(5), 0.75))))
        joined: list[int] = []
        seen: set[int] = set()
        for _attempt in range(n_joins * 3):
            if len(joined) >= n_joins:
                break
            c = pick(inside=rng.random() < 0.85)
            if c not in seen:
                seen.add(c)
                joined.append(c)
        joins_of[p] = joined
        events.extend((p, c, engine.JOIN) for c in joined)
        n_sames = round(len(joined) * 0.5 * rng.lognormvariate(0, 0.5))
        for _ in range(n_sames):
            roll = rng.random()
            c = rng.choice(joined) if roll < 0.7 else pick(inside=roll < 0.9)
            events.append((p, c, engine.SAME))

    members = Counter(c for _p, c, kind in events if kind == engine.JOIN)
    channels = [
        engine.ChannelFacts(
            id=c,
            category=CATEGORIES[interest_category[channel_interest[c]]],
            members=members[c],
            age_days=ages[c],
            idle_days=rng.expovariate(1 / 5),
        )
        for c in range(n_channels)
    ]
    return Community(channels, texts, channel_interest, person_interests, events, len(events), joins_of)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _draw(rng: random.Random, cumulative: list[float]) -> int:
    import bisect

    return min(bisect.bisect_left(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


# Leave-out -----------------------------------------------------------------------------------------


@dataclass
class Split:
    train: list[tuple[int, int, str]]
    hidden: dict[int, set[int]]  # warm people
    cold_hidden: dict[int, set[int]]  # people left with 2 joins
    new_hidden: dict[int, set[int]]  # joins of channels reduced to their first 2 members


def split(community: Community, *, eval_people: int, seed: int = 11) -> Split:
    rng = random.Random(seed)
    eligible = [p for p, joins in community.joins_of.items() if len(joins) >= 3]
    rng.shuffle(eligible)
    cut = min(eval_people, len(eligible) // 2)
    warm = eligible[:cut]
    cold_pool = [p for p in eligible[cut:] if len(community.joins_of[p]) >= 5]
    cold = cold_pool[: max(100, cut // 2)]
    hidden: dict[int, set[int]] = {}
    for p in warm:
        joins = community.joins_of[p]
        hidden[p] = set(rng.sample(joins, max(1, round(len(joins) * 0.2))))
    cold_hidden: dict[int, set[int]] = {}
    cold_kept: dict[int, set[int]] = {}
    for p in cold:
        joins = list(community.joins_of[p])
        rng.shuffle(joins)
        cold_kept[p] = set(joins[:2])
        cold_hidden[p] = set(joins[2:])
    # New channels: 2 % of those with ≥ 5 members keep only their first 2 members (too few for
    # co-membership); the others' joins are hidden, to be found by topic.
    joiners: dict[int, list[int]] = {}
    for p, c, kind in community.events:
        if kind == engine.JOIN:
            joiners.setdefault(c, []).append(p)
    big_enough = sorted(c for c, people in joiners.items() if len(people) >= 5)
    new_channels = set(rng.sample(big_enough, max(1, len(big_enough) // 50)))
    first_members = {c: set(joiners[c][:2]) for c in new_channels}
    tested = set(hidden) | set(cold_kept)
    new_hidden: dict[int, set[int]] = {}
    for c in new_channels:
        for p in joiners[c][2:]:
            if p not in tested:
                new_hidden.setdefault(p, set()).add(c)
    new_hidden = dict(list(new_hidden.items())[:eval_people])
    train = []
    for event in community.events:
        p, c, kind = event
        if p in hidden and c in hidden[p]:
            continue
        if p in cold_kept and (kind != engine.JOIN or c not in cold_kept[p]):
            continue
        if c in new_channels and p not in first_members[c]:
            continue
        train.append(event)
    return Split(train, hidden, cold_hidden, new_hidden)


def metrics(ranked: Sequence[int], relevant: set[int]) -> tuple[float, float]:
    top = ranked[:TOP]
    hits = [1.0 if c in relevant else 0.0 for c in top]
    ideal = min(TOP, len(relevant))
    recall = sum(hits) / ideal
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    idcg = sum(1 / math.log2(i + 2) for i in range(ideal))
    return recall, dcg / idcg


Ranker = Callable[[int], list[int]]


def score(ranker: Ranker, truth: dict[int, set[int]]) -> tuple[float, float]:
    total_r = total_n = 0.0
    for person, relevant in truth.items():
        r, n = metrics(ranker(person), relevant)
        total_r += r
        total_n += n
    return total_r / len(truth), total_n / len(truth)


def distinct_categories(ranker: Ranker, people: Sequence[int], category_of: dict[int, str]) -> float:
    return sum(len({category_of[c] for c in ranker(p)[:TOP]}) for p in people) / max(len(people), 1)


def evaluate(people: int, *, eval_people: int, seed: int) -> None:
    t0 = time.perf_counter()
    community = generate(people, seed=seed)
    data = split(community, eval_people=eval_people, seed=seed + 1)
    profiles, joined = engine.build_profiles(data.train)
    members = Counter(c for _p, c, kind in data.train if kind == engine.JOIN)
    channels = [
        engine.ChannelFacts(c.id, c.category, members[c.id], c.age_days, c.idle_days) for c in community.channels
    ]
    category_of = {c.id: c.category for c in channels}
    print(
        f"\n## {people:,} people · {len(channels):,} channels · {community.signals:,} signals "
        f"(generated and split in {time.perf_counter() - t0:.1f}s; {len(data.hidden)} warm, "
        f"{len(data.cold_hidden)} cold-start and {len(data.new_hidden)} new-channel test people)"
    )
    rng = random.Random(seed + 2)
    all_ids = [c.id for c in channels]
    by_popularity = sorted(all_ids, key=lambda c: -members[c])

    def random_ranker(p: int) -> list[int]:
        mine = joined.get(p, set())
        out: list[int] = []
        while len(out) < TOP:
            c = rng.choice(all_ids)
            if c not in mine and c not in out:
                out.append(c)
        return out

    def popular_ranker(p: int) -> list[int]:
        mine = joined.get(p, set())
        return [c for c in by_popularity[: TOP + len(mine)] if c not in mine][:TOP]

    t1 = time.perf_counter()
    cf = engine.cf_neighbours(profiles.values())
    t_cf = time.perf_counter() - t1
    t1 = time.perf_counter()
    content = engine.content_neighbours(community.texts)
    t_content = time.perf_counter() - t1
    blended = engine.blend(cf, content)
    prior = engine.popularity_prior(members)
    fallback = engine.starter(channels, size=60)
    print(f"neighbours: co-membership {t_cf:.1f}s, content {t_content:.1f}s")

    def model(neighbours: engine.Neighbours, *, diversify: bool = True) -> Ranker:
        def rank(p: int) -> list[int]:
            return [
                s.channel
                for s in engine.recommend(
                    profile=profiles.get(p, {}),
                    joined=joined.get(p, set()),
                    exclude=set(),
                    neighbours=neighbours,
                    prior=prior,
                    category_of=category_of,
                    fallback=fallback,
                    size=TOP,
                    diversify=diversify,
                )
            ]

        return rank

    rankers: list[tuple[str, Ranker]] = [
        ("random", random_ranker),
        ("most popular", popular_ranker),
        ("co-membership only", model(cf)),
        ("content only", model(content)),
        ("blend, not diversified", model(blended, diversify=False)),
        ("blend + diversified (shipped)", model(blended)),
    ]
    rows = []
    sample = list(data.hidden)[:500]
    for name, ranker in rankers:
        warm = score(ranker, data.hidden)
        cold = score(ranker, data.cold_hidden)
        new = score(ranker, data.new_hidden)
        cats = distinct_categories(ranker, sample, category_of)
        rows.append((f"{people // 1000}k", name, *warm, *cold, new[0], cats))
    print(
        "| size | method | recall@10 | NDCG@10 | cold recall@10 | cold NDCG@10 | new-channel recall@10 "
        "| categories in top 10 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size, name, r, n, cr, cn, nr, cats in rows:
        print(f"| {size} | {name} | {r:.3f} | {n:.3f} | {cr:.3f} | {cn:.3f} | {nr:.3f} | {cats:.1f} |")
    popular = rows[1]
    shipped = rows[-1]
    print(
        f"shipped / most popular: recall ×{shipped[2] / popular[2]:.2f}, cold-start recall ×{shipped[4] / popular[4]:.2f}"
    )


def timing(people: int, seed: int) -> None:
    """The whole recompute, as recommendations/recompute.py runs it (without the database): profiles,
    neighbours (co-membership + content), and the top 20 of every person with a signal. Wall time
    and this process's CPU time per step: on a shared machine the CPU time is the steadier figure."""
    community = generate(people, seed=seed)
    channels, texts, events = community.channels, community.texts, community.events
    del community
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps: list[tuple[str, float, float]] = []
    clock = (time.perf_counter(), time.process_time())

    def step(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        steps.append((name, now[0] - clock[0], now[1] - clock[1]))
        clock = now

    profiles, joined = engine.build_profiles(events)
    step("profiles")
    cf = engine.cf_neighbours(profiles.values())
    step("co-membership neighbours")
    content = engine.content_neighbours(texts)
    step("content neighbours")
    neighbours = engine.blend(cf, content)
    prior = engine.popularity_prior({c.id: c.members for c in channels})
    category_of = {c.id: c.category for c in channels}
    step("blend")
    rows = 0
    for person, profile in profiles.items():
        rows += len(
            engine.recommend(
                profile=profile,
                joined=joined.get(person, set()),
                exclude=set(),
                neighbours=neighbours,
                prior=prior,
                category_of=category_of,
                size=20,
            )
        )
    step("suggestions for every person")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\n## recompute at {people:,} people · {len(channels):,} channels · {len(events):,} signals")
    print("| step | wall s | CPU s |\n|---|---|---|")
    for name, wall, cpu in steps:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")
    print(f"| **total** | **{sum(s[1] for s in steps):.1f}** | **{sum(s[2] for s in steps):.1f}** |")
    print(
        f"{len(profiles):,} people, {rows:,} suggestion rows, {sum(len(n) for n in neighbours.values()):,} "
        f"neighbour rows; peak RSS {peak / 1024:.0f} MiB (of which {before / 1024:.0f} MiB before the "
        f"recompute: the generated community and its events)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--eval-people", type=int, default=2000)
    parser.add_argument("--timing", type=int, default=0, help="time the recompute at this many people")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with open("/proc/loadavg") as handle:
        print(f"load average at start: {' '.join(handle.read().split()[:3])}")
    for size in args.sizes:
        evaluate(size, eval_people=args.eval_people, seed=args.seed)
    if args.timing:
        timing(args.timing, seed=args.seed)
    with open("/proc/loadavg") as handle:
        print(f"load average at end: {' '.join(handle.read().split()[:3])}")


if __name__ == "__main__":
    main()
