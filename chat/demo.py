"""Demo chats: a request waiting for `demo`, a conversation, and a group with an open invite link."""

from core.demo import DemoWorld, register_seeder
from posts.models import Post

from . import groups, services


@register_seeder(order=50)
def seed_chats(world: DemoWorld) -> None:
    people = world.people
    demo, owl, rain, sun = people["demo"], people["night_owl"], people["小雨"], people["sunflower"]
    owl_post = Post.objects.filter(author=owl, removed_at__isnull=True).order_by("-created_at").first()
    demo_post = Post.objects.filter(author=demo, removed_at__isnull=True).order_by("-created_at").first()
    if owl_post is not None:
        talk, _sent = services.conversation_knock(
            sender=demo, post=owl_post, text="This is exactly my night too.", client_id="demo-1"
        )
        services.message_send(sender=owl, conversation=talk, text="Ha, glad it's not just me. Tea?", client_id="o-1")
        services.message_send(sender=demo, conversation=talk, text="Chamomile, always.", client_id="demo-2")
    if demo_post is not None:
        services.conversation_knock(sender=sun, post=demo_post, text="Hi! This one made me smile.", client_id="sun-1")
    group = groups.group_create(owner=owl, title="Night owls")
    invite = groups.invite_create(user=owl, conversation=group, days=30)
    for person in (rain, demo):
        groups.group_join_by_invite(user=person, code=invite.code)
    services.message_send(sender=owl, conversation=group, text="Who else is up?", client_id="o-g1")
    services.message_send(sender=rain, conversation=group, text="我在！窗外在下雨。", client_id="r-g1")
    world.things["group:Night owls"] = group
