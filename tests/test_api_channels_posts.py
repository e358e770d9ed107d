import json

import pytest

from interests.models import Channel
from posts.models import Post
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def api(client):
    make_user(username="maple")
    token = client.post(
        API + "/auth/token", json.dumps({"login": "maple", "password": PASSWORD}), content_type="application/json"
    ).json()["token"]

    class Api:
        def get(self, path, **params):
            return client.get(API + path, params, headers={"Authorization": f"Bearer {token}"})

        def post(self, path, body=None):
            return client.post(
                API + path,
                json.dumps(body or {}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )

        def delete(self, path):
            return client.delete(API + path, headers={"Authorization": f"Bearer {token}"})

    return Api()


def test_categories(api):
    items = api.get("/categories").json()["items"]
    assert {"slug": "moods", "name": "Moods"} in items


def test_create_get_list_join_leave(api):
    created = api.post(
        "/channels", {"name": "Insomnia", "description": "d", "rule": "r", "kind": "text", "category": "moods"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Insomnia"
    assert body["joined"] is True
    assert body["member_count"] == 1
    assert body["host"] == "maple"
    assert not body["id"].isdigit()
    assert api.get(f"/channels/{body['id']}").json()["id"] == body["id"]
    other = make_channel(name="Other")
    assert api.post(f"/channels/{other.public_id}/join").status_code == 204
    listed = api.get("/channels", sort="new").json()
    assert [c["name"] for c in listed["items"]] == ["Other", "Insomnia"]
    assert all(c["joined"] for c in listed["items"])
    assert api.delete(f"/channels/{other.public_id}/join").status_code == 204
    assert api.get(f"/channels/{other.public_id}").json()["joined"] is False


def test_create_refusals(api):
    make_channel(name="Insomnia")
    response = api.post("/channels", {"name": "INSOMNIA", "kind": "poem", "category": "moods"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == {"name", "kind"}
    missing = api.post("/channels", {"description": "no name"})
    assert missing.status_code == 400
    assert {"name", "kind", "category"} <= set(missing.json()["fields"])
    assert Channel.objects.count() == 1


def test_pagination_follows_next(api):
    for i in range(25):
        make_channel(name=f"C{i:02}")
    first = api.get("/channels", sort="new").json()
    assert len(first["items"]) == 20
    second = api.get("/channels", sort="new", cursor=first["next"]).json()
    assert len(second["items"]) == 5
    assert second["next"] is None
    bad = api.get("/channels", cursor="!!!")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"


def test_post_same_feed_delete(api):
    channel = api.post("/channels", {"name": "Insomnia", "kind": "text", "category": "moods"}).json()
    created = api.post(f"/channels/{channel['id']}/posts", {"text": "awake"})
    assert created.status_code == 201
    post = created.json()
    assert post["author"] == {"username": "maple"}
    assert post["same_count"] == 0
    assert api.post(f"/posts/{post['id']}/same").json()["code"] == "own_post"
    stranger_post = Post.objects.create(channel=Channel.objects.get(), author=make_user(), kind="text", text="me too")
    assert api.post(f"/posts/{stranger_post.public_id}/same").json() == {"same_count": 1}
    assert api.get(f"/posts/{stranger_post.public_id}").json()["same_by_me"] is True
    assert api.delete(f"/posts/{stranger_post.public_id}/same").json() == {"same_count": 0}
    feed = api.get("/feed").json()
    assert {p["id"] for p in feed["items"]} == {post["id"], stranger_post.public_id}
    assert api.delete(f"/posts/{stranger_post.public_id}").json()["code"] == "not_author"
    assert api.delete(f"/posts/{post['id']}").status_code == 204
    assert api.get(f"/posts/{post['id']}").status_code == 404


def test_posting_refusals(api):
    channel = make_channel(name="Elsewhere")
    not_member = api.post(f"/channels/{channel.public_id}/posts", {"text": "hi"})
    assert not_member.status_code == 403
    assert not_member.json()["code"] == "not_member"
    api.post(f"/channels/{channel.public_id}/join")
    too_long = api.post(f"/channels/{channel.public_id}/posts", {"text": "x" * 2001})
    assert too_long.status_code == 400
    assert too_long.json()["fields"] == {"text": ["A post has at most 2,000 characters."]}
    assert api.get("/channels/nope/posts").status_code == 404
    assert not Post.objects.exists()


class TestKinds:
    @pytest.fixture
    def channels(self, api):
        made = {}
        for kind in ["image", "music", "movie", "vote"]:
            made[kind] = api.post("/channels", {"name": f"A {kind} place", "kind": kind, "category": "life"}).json()[
                "id"
            ]
        return made

    def test_each_kind_round_trips(self, client, api, channels, settings, tmp_path):
        from tests.samples import TAG_MARK, photo_with_gps, png, song

        settings.MEDIA_ROOT = tmp_path
        auth = {"Authorization": client_token(client)}
        photos = client.post(
            f"{API}/channels/{channels['image']}/posts",
            {"images": [photo_with_gps(), png()], "text": "shoes"},
            headers=auth,
        )
        assert photos.status_code == 201, photos.content
        assert [i["width"] for i in photos.json()["images"]] == [60, 30]
        music = client.post(
            f"{API}/channels/{channels['music']}/posts",
            {"title": "Loop", "artist": "Me", "audio": song()},
            headers=auth,
        )
        assert music.status_code == 201, music.content
        assert music.json()["music"]["audio_url"].startswith("/media/songs/")
        assert TAG_MARK.encode() not in client.get(music.json()["music"]["audio_url"]).getvalue()
        movie = api.post(
            f"/channels/{channels['movie']}/posts",
            {"title": "Perfect Days", "year": 2023, "rating": 5, "review": "quiet"},
        )
        assert movie.json()["movie"] == {
            "title": "Perfect Days",
            "year": 2023,
            "rating": 5,
            "review": "quiet",
            "poster_url": None,
            "others_count": 0,
            "average_rating": 5.0,
        }
        poll = api.post(f"/channels/{channels['vote']}/posts", {"question": "Tea?", "options": ["Yes", "No"]}).json()
        assert [o["votes"] for o in poll["poll"]["options"]] == [None, None]  # hidden until one votes
        voted = api.post(f"/posts/{poll['id']}/vote", {"option_ids": [poll["poll"]["options"][0]["id"]]})
        assert voted.status_code == 200
        assert voted.json()["poll"]["total_votes"] == 1
        assert voted.json()["poll"]["my_option_ids"] == [poll["poll"]["options"][0]["id"]]
        again = api.post(f"/posts/{poll['id']}/vote", {"option_ids": [poll["poll"]["options"][1]["id"]]})
        assert again.status_code == 409
        assert again.json()["code"] == "already_voted"

    def test_wrong_fields_for_the_kind_are_refused(self, api, channels):
        too_many = api.post(
            f"/channels/{channels['vote']}/posts", {"question": "?", "options": [str(i) for i in range(11)]}
        )
        assert too_many.status_code == 400
        assert "options" in too_many.json()["fields"]
        no_photo = api.post(f"/channels/{channels['image']}/posts", {"text": "no photo"})
        assert no_photo.status_code == 400
        assert no_photo.json()["fields"] == {"images": ["Add at least one photo."]}
        bad_rating = api.post(f"/channels/{channels['movie']}/posts", {"title": "x", "rating": "lots"})
        assert bad_rating.json()["fields"]["rating"] == ["Give it 1 to 5 stars."]
        assert not Post.objects.exists()


def client_token(client) -> str:
    token = client.post(
        API + "/auth/token", json.dumps({"login": "maple", "password": PASSWORD}), content_type="application/json"
    ).json()["token"]
    return f"Bearer {token}"


def test_a_multipart_body_without_a_boundary_is_a_400(api, client):
    """Found by schemathesis: a malformed multipart header used to end in a 500."""
    token = client_token(client)
    response = client.generic(
        "POST",
        f"{API}/channels",
        b'{"name": "x"}',
        content_type="multipart/form-data",
        headers={"Authorization": token},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_body"
    assert not Channel.objects.exists()
