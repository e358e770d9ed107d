"""Delivery of chat events to sockets (core.realtime.send_to_people): every socket of every current member,
each event once and in order, nobody else. Runs on the in-memory layer, and on Redis in the CI's second pass."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat import groups, services
from core import realtime
from tests.factories import make_user
from tests.test_chat import _connect_as
from tests.test_chat_groups import a_group, joined

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _messages(socket, count):
    events = [await socket.receive_json_from(timeout=5) for _ in range(count)]
    assert {e["type"] for e in events} == {"message.new"}
    return [e["message"]["text"] for e in events]


async def test_every_socket_of_every_member_hears_each_message_once_in_order_and_nobody_else_does():
    owner = await database_sync_to_async(make_user)(username="owner")
    ana = await database_sync_to_async(make_user)(username="ana")
    bo = await database_sync_to_async(make_user)(username="bo")
    outsider = await database_sync_to_async(make_user)(username="outsider")
    _owner, group = await database_sync_to_async(a_group)(owner)
    await database_sync_to_async(joined)(group, owner, ana, bo)
    phone, laptop, bo_socket, owner_socket, outsider_socket = [
        await _connect_as(person) for person in (ana, ana, bo, owner, outsider)
    ]
    texts = [f"message {i}" for i in range(12)]
    for i, text in enumerate(texts):
        await database_sync_to_async(services.message_send)(
            sender=owner, conversation=group, text=text, client_id=f"o{i}"
        )
    for socket in (phone, laptop, bo_socket, owner_socket):  # the sender's own sockets hear it too
        assert await _messages(socket, len(texts)) == texts
        assert await socket.receive_nothing(timeout=0.2)
    assert await outsider_socket.receive_nothing(timeout=0.2)
    for socket in (phone, laptop, bo_socket, owner_socket, outsider_socket):
        await socket.disconnect()


async def test_a_removed_member_hears_nothing_more_on_any_socket_while_the_others_do():
    owner = await database_sync_to_async(make_user)(username="owner")
    ana = await database_sync_to_async(make_user)(username="ana")
    bo = await database_sync_to_async(make_user)(username="bo")
    _owner, group = await database_sync_to_async(a_group)(owner)
    await database_sync_to_async(joined)(group, owner, ana, bo)
    phone, laptop, bo_socket = [await _connect_as(person) for person in (ana, ana, bo)]
    await database_sync_to_async(groups.member_remove)(by=owner, conversation=group, username="ana")
    for socket in (phone, laptop):
        assert (await socket.receive_json_from(timeout=5))["type"] == "conversation.removed"
    notice = await bo_socket.receive_json_from(timeout=5)  # the group's own "ana was removed" line
    assert (notice["type"], notice["message"]["kind"]) == ("message.new", "event")
    await database_sync_to_async(services.message_send)(sender=owner, conversation=group, text="after", client_id="o1")
    assert await _messages(bo_socket, 1) == ["after"]
    for socket in (phone, laptop):
        assert await socket.receive_nothing(timeout=0.3)
    for socket in (phone, laptop, bo_socket):
        await socket.disconnect()


async def test_a_closed_socket_is_forgotten_and_sending_to_it_is_harmless():
    ana = await database_sync_to_async(make_user)(username="ana")
    socket = await _connect_as(ana)
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        assert ana.public_id in realtime._sockets
    await socket.disconnect()
    assert ana.public_id not in realtime._sockets
    await realtime.send_to_people([ana.public_id, "nobody"], '{"type": "ping"}')


async def test_through_redis_a_group_message_is_one_publish_for_all_members_and_a_removed_one_is_not_in_it(
    monkeypatch,
):
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        pytest.skip("needs REDIS_URL (the CI's second pass): the in-memory layer hands events over in-process")
    owner = await database_sync_to_async(make_user)(username="owner")
    ana = await database_sync_to_async(make_user)(username="ana")
    bo = await database_sync_to_async(make_user)(username="bo")
    _owner, group = await database_sync_to_async(a_group)(owner)
    await database_sync_to_async(joined)(group, owner, ana, bo)
    sockets = [await _connect_as(person) for person in (owner, ana, bo)]
    sent: list[tuple[str, dict]] = []
    group_send = layer.group_send

    async def counting(group_name, message):
        sent.append((group_name, message))
        await group_send(group_name, message)

    monkeypatch.setattr(layer, "group_send", counting, raising=False)
    await database_sync_to_async(services.message_send)(sender=owner, conversation=group, text="one", client_id="o1")
    for socket in sockets:
        assert await _messages(socket, 1) == ["one"]
    assert [(name, sorted(m["to"])) for name, m in sent] == [
        (realtime.PEOPLE_GROUP, sorted([owner.public_id, ana.public_id, bo.public_id]))
    ]
    sent.clear()
    await database_sync_to_async(groups.member_remove)(by=owner, conversation=group, username="ana")
    for socket in sockets:
        await socket.receive_json_from(timeout=5)  # "removed" to ana, the group's "ana was removed" line to the rest
    sent.clear()
    await database_sync_to_async(services.message_send)(sender=owner, conversation=group, text="two", client_id="o2")
    assert await _messages(sockets[0], 1) == ["two"]
    assert await _messages(sockets[2], 1) == ["two"]
    assert await sockets[1].receive_nothing(timeout=0.3)
    assert [sorted(m["to"]) for _name, m in sent] == [sorted([owner.public_id, bo.public_id])]
    for socket in sockets:
        await socket.disconnect()


async def test_through_redis_this_process_s_sockets_hear_its_events_at_once_and_once_and_others_through_the_hub(
    monkeypatch,
):
    """An event published here goes to this process's sockets directly (no round trip through Redis first) and
    is not handed to them a second time when Redis brings it back to this process's hub; an event another
    process published reaches them through the hub."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        pytest.skip("needs REDIS_URL (the CI's second pass): the in-memory layer hands events over in-process")
    ana = await database_sync_to_async(make_user)(username="ana")
    bo = await database_sync_to_async(make_user)(username="bo")
    ana_socket, bo_socket = await _connect_as(ana), await _connect_as(bo)
    await realtime.send_to_people([ana.public_id], '{"type": "ping", "n": 1}')
    assert await ana_socket.receive_json_from(timeout=5) == {"type": "ping", "n": 1}
    assert await ana_socket.receive_nothing(timeout=0.5)  # Redis brought it back to the hub: not again
    assert await bo_socket.receive_nothing(timeout=0.1)

    await layer.group_send(
        realtime.PEOPLE_GROUP,
        {"type": "people.forward", "text": '{"type": "ping", "n": 2}', "to": [bo.public_id], "from": "elsewhere"},
    )
    assert await bo_socket.receive_json_from(timeout=5) == {"type": "ping", "n": 2}

    published: list[dict] = []

    async def held_up(group_name, message):  # Redis slow to answer: the other processes wait, this one does not
        published.append(message)

    monkeypatch.setattr(layer, "group_send", held_up, raising=False)
    await realtime.send_to_people([ana.public_id, bo.public_id], '{"type": "ping", "n": 3}')
    for socket in (ana_socket, bo_socket):
        assert await socket.receive_json_from(timeout=5) == {"type": "ping", "n": 3}
    assert [(m["to"], m["from"]) for m in published] == [([ana.public_id, bo.public_id], realtime.process_origin())]
    for socket in (ana_socket, bo_socket):
        await socket.disconnect()


async def test_a_process_s_origin_is_its_own_after_a_fork(monkeypatch):
    first = realtime.process_origin()
    assert realtime.process_origin() == first
    monkeypatch.setattr(realtime.os, "getpid", lambda: -1)  # a child forked after the parent named itself
    assert realtime.process_origin() != first
