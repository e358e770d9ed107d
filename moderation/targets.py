"""What can be reported, and how to find it. Features above moderation (chat) register their own kinds,
so moderation imports none of them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts.models import User


@dataclass(frozen=True)
class ReportedThing:
    """What an operator sees of a reported item. `private` things (messages) are shown only on request."""

    summary: str
    author: User | None
    channel: Any = None  # interests.Channel, for hosts' queues
    private: bool = False
    obj: Any = None


Resolver = Callable[[User, str], ReportedThing | None]  # (reporter, target id) → thing, or None if they can't see it
Loader = Callable[[str], ReportedThing | None]  # target id → thing, for operators

_resolvers: dict[str, Resolver] = {}
_loaders: dict[str, Loader] = {}


def register_target(kind: str, *, resolve: Resolver, load: Loader) -> None:
    _resolvers[kind] = resolve
    _loaders[kind] = load


def resolve_for_reporter(kind: str, reporter: User, target_id: str) -> ReportedThing | None:
    resolver = _resolvers.get(kind)
    return resolver(reporter, target_id) if resolver else None


def load_for_operator(kind: str, target_id: str) -> ReportedThing | None:
    loader = _loaders.get(kind)
    return loader(target_id) if loader else None


def registered(kind: str) -> bool:
    return kind in _resolvers
