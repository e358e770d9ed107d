"""What search engines and link previews read: robots.txt and each page's description."""

import pytest
from django.test import Client


@pytest.mark.django_db
class TestRobots:
    def test_robots_keeps_crawlers_off_the_api_and_the_operators_pages(self, client: Client):
        """Ensure that /robots.txt is plain text that lets crawlers read the public pages only."""
        response = client.get("/robots.txt")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        lines = response.content.decode().splitlines()
        assert lines[0] == "User-agent: *"
        assert {"Disallow: /api/", "Disallow: /admin/", "Disallow: /ops/"} <= set(lines)
        assert "Disallow: /" not in lines  # the welcome page stays findable

    def test_robots_refuses_a_post(self, client: Client):
        assert client.post("/robots.txt").status_code == 405


@pytest.mark.django_db
class TestDescription:
    def test_every_page_has_a_description_in_the_readers_language(self, client: Client):
        """Ensure that the welcome page carries a meta description, in Chinese for a Chinese browser."""
        english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<meta name="description" content="same: say what you feel in channels' in english
        chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        assert '<meta name="description" content="same：在你热爱的频道里说出你的感受' in chinese
