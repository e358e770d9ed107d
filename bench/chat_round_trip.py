"""A socket's text's one round trip to PostgreSQL, in process: where the app's store time goes, with no server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_x .venv/bin/python bench/chat_round_trip.py [--every-ms 20] [--n 300]

Seeds bench/chat_delivery.py's people and direct conversations, then sends `--n` texts, each from the next of the
500 senders (so no one meets the limits on messages), one every `--every-ms` and then back to back, and prints
p50 / p90 / p99 in ms of:

  plan                 `chat.services.at_once`: the string's statements' names and parameters, the message built
  quoting              psycopg's client-side quoting of that string's ~30 parameters (`AsyncClientCursor.mogrify`)
  round trip           `chat.loop_send._run` as the app runs it: BEGIN; four EXECUTEs; COMMIT in one simple-query
                       string on a connection of its own (the statements prepared when it opened), the answers read
                       and the message made from them; includes the quoting
  pipelined            an experiment, not the app: the same four statements in psycopg's pipeline mode with
                       server-side binding (each prepared by psycopg once), one Sync at the end — PostgreSQL's
                       implicit transaction of a pipeline, committed at the Sync, as BEGIN … COMMIT is

The round trip and the pipelined variant alternate, each on its own connection, so the machine's state is the
same for both. Every text is stored (durably, as the app's): the counts printed at the end say how many each
stored, which is every one unless the rules' condition refused some.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import out, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every-ms", type=float, default=20.0)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    from bench.chat_delivery import seed

    seed(500, 200)
    from django.db import connection

    from accounts.models import AccessToken
    from chat.models import ConversationKind, Message, Participant

    if connection.vendor != "postgresql":
        raise SystemExit("the round trip is PostgreSQL's: set DATABASE_URL")
    digests = {token.user_id: token.digest for token in AccessToken.objects.filter(user__username__startswith="deliv_")}
    senders = [
        (participant.conversation, participant.user, digests[participant.user_id])
        for participant in Participant.objects.filter(
            conversation__kind=ConversationKind.DIRECT, user__username__startswith="deliv_"
        ).select_related("conversation", "user")
    ]
    before = Message.objects.count()
    sent = asyncio.run(measure(senders, args.n, args.every_ms / 1000))
    stored = Message.objects.count() - before
    out(f"stored: {sent['app']} as the app sends, {sent['pipelined']} pipelined ({stored} rows in all)")


async def measure(senders: list[tuple[Any, Any, str]], n: int, every: float) -> dict[str, int]:
    import psycopg
    from django.db import connections

    from chat import loop_send, services
    from chat.models import Conversation, ConversationKind
    from core.realtime import Credential

    statements = services._at_once_statements(ConversationKind.DIRECT, "token")
    names = [statement.execute for statement in statements]
    sent = {"app": 0, "pipelined": 0}

    def plan(i: int) -> services.AtOnce:
        conversation, user, digest = senders[i % len(senders)]
        return services.at_once(
            conversation=Conversation(pk=conversation.pk, public_id=conversation.public_id, kind=conversation.kind),
            sender=user,
            client_id=f"rt-{time.time_ns()}-{i}",
            fields={"text": "the same round trip"},
            credential=Credential(token_digest=digest, session_key=None),
            names=names,
        )

    params = connections["default"].get_connection_params()
    as_app = await psycopg.AsyncConnection.connect(
        **{**params, "cursor_factory": psycopg.AsyncClientCursor}, autocommit=True
    )
    await as_app.execute("; ".join(["SET TIME ZONE 'UTC'", *[s.definition for s in loop_send._STATEMENTS]]))
    pipelining = await psycopg.AsyncConnection.connect(
        **{**params, "cursor_factory": psycopg.AsyncCursor}, autocommit=True
    )
    await pipelining.execute("SET TIME ZONE 'UTC'")
    quoter = psycopg.AsyncClientCursor(as_app)

    async def round_trip(at_once: services.AtOnce) -> None:
        if await loop_send._run(as_app, at_once) is not None:
            sent["app"] += 1

    async def pipelined(at_once: services.AtOnce) -> None:
        cursors, start = [], 0
        try:
            async with pipelining.pipeline():
                for statement in statements:
                    cursor = pipelining.cursor()
                    await cursor.execute(statement.sql, at_once.params[start : start + statement.count], prepare=True)
                    cursors.append(cursor)
                    start += statement.count
        except psycopg.IntegrityError:
            return  # refused: the pipeline's implicit transaction rolled back at its Sync
        signer, number = await cursors[0].fetchone(), await cursors[1].fetchone()
        members, inserted = await cursors[2].fetchall(), await cursors[3].fetchone()
        services.stored_at_once(
            at_once, signer=signer, number=number, members=members, inserted=inserted, alias="default"
        )
        sent["pipelined"] += 1

    out(f"{len(senders)} senders; {n} texts each way, every {every * 1000:g} ms and back to back; ms")
    out("| step | pace | p50 | p90 | p99 |")
    out("|---|---|---:|---:|---:|")
    i = 0
    for pace in (every, 0.0):
        times: dict[str, list[float]] = {"plan": [], "quoting": [], "round trip": [], "pipelined": []}
        for _ in range(n):
            for way, run in (("round trip", round_trip), ("pipelined", pipelined)):
                await asyncio.sleep(pace)
                started = time.perf_counter()
                at_once = plan(i)
                planned = time.perf_counter()
                times["plan"].append((planned - started) * 1000)
                if way == "round trip":
                    quoter.mogrify(at_once.sql, at_once.params)
                    times["quoting"].append((time.perf_counter() - planned) * 1000)
                started = time.perf_counter()
                await run(at_once)
                times[way].append((time.perf_counter() - started) * 1000)
                i += 1
        label = f"every {every * 1000:g} ms" if pace else "back to back"
        for step, values in times.items():
            ranked = sorted(values)
            figures = " | ".join(f"{percentile(ranked, q):.3f}" for q in (0.5, 0.9, 0.99))
            out(f"| {step} | {label} | {figures} |")
    await as_app.close()
    await pipelining.close()
    return sent


if __name__ == "__main__":
    main()
