"""An operator on a phone works the report queue: opens the most-reported post and removes it."""

from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from moderation.models import ModerationLogEntry
from moderation.services import report_create
from posts.models import Post
from posts.services import post_create_text
from tests.factories import make_channel, make_user


def test_work_the_report_queue(live_server, signed_in, shot):
    author = make_user(username="spammer")
    channel = make_channel(name="Quiet mornings", host=author)
    post = post_create_text(author=author, channel=channel, text="BUY CHEAP FOLLOWERS at example.invalid")
    for _ in range(3):
        report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="spam")
    moderator = make_user(username="moderator", is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="change_report"))

    page = signed_in(moderator)
    page.get_by_role("link", name="Me", exact=True).tap()
    page.get_by_role("link", name="Reports to review").tap()
    expect(page.locator(".ops-list .badge-count")).to_have_text("3")
    shot(page, "ops-01-queue")
    page.locator(".ops-list a").first.tap()
    expect(page.get_by_text("BUY CHEAP FOLLOWERS")).to_be_visible()
    page.get_by_role("button", name="Remove the post").tap()
    expect(page.get_by_role("alert")).to_contain_text("Say why")  # the reason is required, said on the page
    page.locator("#ops-reason").fill("Selling followers: spam.")
    page.get_by_role("button", name="Remove the post").tap()
    expect(page.get_by_text("No open reports")).to_be_visible()
    shot(page, "ops-02-done")
    assert Post.objects.get(pk=post.pk).removed_reason == "Selling followers: spam."
    assert ModerationLogEntry.objects.get().actor == moderator
