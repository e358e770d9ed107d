"""English and Simplified Chinese: who sees which language, the catalogs, and times as people say them."""

import ast
import json
import re
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import polib
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.template import engines
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation.template import templatize

from accounts.models import User
from accounts.services import token_issue
from core.script_catalog import script_catalog_version
from core.translations import catalogs
from core.when import short_date_text, when_text
from posts.services import post_create_text
from same.asgi import application
from tests.factories import PASSWORD, make_channel, make_user

ROOT = Path(settings.BASE_DIR)
ZH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
ZH_BROWSER = "zh-CN,zh;q=0.9,en;q=0.6"
STRONG = "lanterns over the lake"


# ---------------------------------------------------------------- who sees which language


@pytest.mark.django_db
class TestLanguageChoice:
    def test_without_accept_language_the_site_is_english(self, client):
        """Ensure that English stays the default (Playwright and most tests send no Accept-Language)."""
        response = client.get("/")
        assert response["Content-Language"] == "en"
        assert '<html lang="en">' in response.text
        assert "Say what you feel." in response.text

    def test_a_first_visit_follows_the_browser(self, client):
        response = client.get("/", headers={"accept-language": ZH_BROWSER})
        assert response["Content-Language"] == "zh-hans"
        assert '<html lang="zh-hans">' in response.text
        assert "说出你的感受，找到和你一样的人。" in response.text
        assert "Say what you feel." not in response.text

    def test_a_visitor_switches_with_set_language_and_it_sticks(self, client):
        response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/login"})
        assert response.status_code == 302
        assert response["Location"] == "/login"
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
        page = client.get("/login", headers={"accept-language": "en"})  # the cookie beats the browser
        assert "欢迎回来" in page.text
        assert "Welcome back" not in page.text

    def test_the_welcome_page_offers_both_languages_each_in_itself(self, client):
        text = client.get("/").text
        assert 'action="/i18n/setlang/"' in text
        assert 'value="zh-hans" lang="zh-hans">简体中文</button>' in text
        assert 'value="en" lang="en" aria-current="true" disabled>English</button>' in text

    def test_sign_up_keeps_the_browsers_language(self, client, immediate_tasks, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("accounts:signup"),
                {"email": "fern@example.org", "username": "fern", "password": STRONG, "timezone": "Asia/Shanghai"},
                headers={"accept-language": ZH_BROWSER},
            )
        assert User.objects.get(username="fern").language == "zh-hans"
        [message] = mail.outbox
        assert message.subject == "确认你在 same 的邮箱"
        assert "欢迎来到 same" in message.body

    def test_the_persons_setting_wins_over_the_browser(self, client):
        make_user(username="maple", language="en")
        client.login(username="maple", password=PASSWORD)
        response = client.get(reverse("accounts:me"), headers={"accept-language": ZH_BROWSER})
        assert response["Content-Language"] == "en"
        assert "Preferences" in response.text

        User.objects.filter(username="maple").update(language="zh-hans")
        response = client.get(reverse("accounts:me"))  # a browser that asks for nothing in particular
        assert response["Content-Language"] == "zh-hans"
        assert "偏好设置" in response.text
        assert "Preferences" not in response.text

    def test_choosing_a_language_in_settings_switches_the_pages_and_the_cookie(self, client):
        make_user(username="maple", language="zh-hans")
        client.login(username="maple", password=PASSWORD)
        form = client.get(reverse("accounts:settings_profile")).text
        assert '<option value="en">English</option>' in form  # each language named in itself
        assert '<option value="zh-hans" selected>简体中文</option>' in form
        response = client.post(
            reverse("accounts:settings_profile"), {"username": "maple", "timezone": "UTC", "language": "en"}
        )
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
        page = client.get(reverse("accounts:me"), headers={"accept-language": ZH_BROWSER})
        assert "Saved." in page.text  # the confirmation is already in the new language
        assert "Preferences" in page.text

    def test_an_unknown_language_is_refused_next_to_the_field(self, client):
        make_user(username="maple")
        client.login(username="maple", password=PASSWORD)
        response = client.post(
            reverse("accounts:settings_profile"), {"username": "maple", "timezone": "UTC", "language": "tlh"}
        )
        assert response.status_code == 400
        assert 'id="id_language_error"' in response.text
        assert User.objects.get(username="maple").language == "en"

    def test_scripts_get_the_catalog_of_the_page_language(self, client):
        response = client.get(reverse("javascript-catalog") + "?l=zh-hans", headers={"accept-language": ZH_BROWSER})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/javascript")
        assert "\\u4eca\\u5929 %(time)s" in response.text or "今天 %(time)s" in response.text
        assert response.has_header("Last-Modified")
        english = client.get(reverse("javascript-catalog") + "?l=en")
        assert "today %(time)s" not in english.text  # English is the source: no catalog entries

    def test_pages_load_the_catalog_before_their_scripts(self, client):
        text = client.get("/", headers={"accept-language": ZH_BROWSER}).text
        catalog = text.index(f'src="/jsi18n/?l=zh-hans&amp;v={script_catalog_version()}"')
        assert catalog < text.index("js/app.js")

    def test_the_pages_catalog_is_cached_for_a_year_and_holds_the_language_its_address_names(self, client):
        """Ensure that the catalog a page asks for is not asked for again on the next page, and that its address
        alone decides what it holds (so no cache can hand someone the other language's strings)."""
        url = f"{reverse('javascript-catalog')}?l=zh-hans&v={script_catalog_version()}"
        chinese = client.get(url, headers={"accept-language": "en"})
        assert "今天 %(time)s" in chinese.text or "\\u4eca\\u5929 %(time)s" in chinese.text
        assert "max-age=31536000" in chinese["Cache-Control"]
        assert "immutable" in chinese["Cache-Control"]
        english = client.get(
            f"{reverse('javascript-catalog')}?l=en&v={script_catalog_version()}",
            headers={"accept-language": ZH_BROWSER},
        )
        assert "%(time)s" not in english.text  # English is the source: no entries
        # An old page's address (another version) is answered, but not kept: it revalidates as before.
        stale = client.get(f"{reverse('javascript-catalog')}?l=zh-hans&v=old")
        assert "max-age" not in stale.get("Cache-Control", "")
        assert stale.has_header("Last-Modified")


@pytest.mark.django_db
class TestApiLanguage:
    def _token(self, client, *, language: str) -> str:
        make_user(username="maple", email="maple@example.org", language=language)
        response = client.post(
            "/api/v1/auth/token",
            json.dumps({"login": "maple", "password": PASSWORD, "name": "phone"}),
            content_type="application/json",
        )
        return str(response.json()["token"])

    def test_messages_are_in_the_persons_language_and_codes_stay_english(self, client):
        token = self._token(client, language="zh-hans")
        response = client.get("/api/v1/posts/nope", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert response.json()["message"] == "没有这条帖子。"
        assert response["Content-Language"] == "zh-hans"
        me = client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"}).json()
        assert me["language"] == "zh-hans"

    def test_the_persons_english_wins_over_a_chinese_phone(self, client):
        token = self._token(client, language="en")
        response = client.get(
            "/api/v1/posts/nope", headers={"authorization": f"Bearer {token}", "accept-language": ZH_BROWSER}
        )
        assert response.json() == {"code": "not_found", "message": "No such post.", "fields": {}}

    def test_register_keeps_the_phones_language_and_patch_me_changes_it(self, client):
        response = client.post(
            "/api/v1/auth/register",
            json.dumps({"email": "fern@example.org", "username": "fern", "password": STRONG}),
            content_type="application/json",
            headers={"accept-language": ZH_BROWSER},
        )
        assert response.status_code == 201
        assert User.objects.get(username="fern").language == "zh-hans"
        english = client.post(
            "/api/v1/auth/register",
            json.dumps({"email": "moss@example.org", "username": "moss", "password": STRONG}),
            content_type="application/json",
        )
        assert english.status_code == 201
        assert User.objects.get(username="moss").language == "en"

        token = self._token(client, language="zh-hans")
        auth = {"authorization": f"Bearer {token}"}
        changed = client.patch(
            "/api/v1/me", json.dumps({"language": "en"}), content_type="application/json", headers=auth
        )
        assert changed.json()["language"] == "en"
        assert client.get("/api/v1/posts/nope", headers=auth).json()["message"] == "No such post."
        refused = client.patch(
            "/api/v1/me", json.dumps({"language": "xx"}), content_type="application/json", headers=auth
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid"
        assert "language" in refused.json()["fields"]

    def test_before_signing_in_the_phones_language_is_used(self, client):
        response = client.post(
            "/api/v1/auth/token",
            json.dumps({"login": "nobody", "password": "wrong wrong wrong"}),
            content_type="application/json",
            headers={"accept-language": ZH_BROWSER},
        )
        body = response.json()
        assert response.status_code in {400, 401}
        assert re.fullmatch(r"[a-z_]+", body["code"])
        assert re.search(r"[\u4e00-\u9fff]", body["message"]), body


# ---------------------------------------------------------------- times as people say them


SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=SHANGHAI)  # a Thursday morning in Shanghai


class TestWhen:
    @pytest.mark.parametrize(
        ("moment", "english", "chinese"),
        [
            (datetime(2026, 11, 26, 6, 42, tzinfo=SHANGHAI), "today 06:42", "今天 06:42"),
            (datetime(2026, 11, 25, 23, 10, tzinfo=SHANGHAI), "yesterday 23:10", "昨天 23:10"),
            (datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI), "tomorrow 08:00", "明天 08:00"),
            (datetime(2026, 11, 3, 12, 0, tzinfo=SHANGHAI), "Nov 3", "11月3日"),
            (datetime(2026, 3, 9, 12, 0, tzinfo=SHANGHAI), "Mar 9", "3月9日"),
            (datetime(2025, 11, 3, 12, 0, tzinfo=SHANGHAI), "Nov 3, 2025", "2025年11月3日"),
        ],
    )
    def test_says_today_yesterday_or_the_day(self, moment, english, chinese):
        with timezone.override(SHANGHAI):
            with translation.override("en"):
                assert when_text(moment, now=NOW) == english
            with translation.override("zh-hans"):
                assert when_text(moment, now=NOW) == chinese

    def test_the_day_is_the_viewers_own(self):
        """Ensure that 23:10 UTC on the 25th is 'today 07:10' in Shanghai and 'yesterday 23:10' in London."""
        moment = datetime(2026, 11, 25, 23, 10, tzinfo=UTC)
        with translation.override("en"):
            with timezone.override(SHANGHAI):
                assert when_text(moment, now=NOW) == "today 07:10"
            with timezone.override(zoneinfo.ZoneInfo("Europe/London")):
                assert when_text(moment, now=NOW) == "yesterday 23:10"

    def test_the_filter_in_a_template_and_an_empty_value(self, monkeypatch):
        monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(UTC))
        template = engines["django"].from_string(
            "{% load when %}[{{ at|when }}][{{ missing|when }}][{{ day|short_date }}]"
        )
        with timezone.override(SHANGHAI), translation.override("zh-hans"):
            rendered = template.render({"at": datetime(2026, 11, 25, 15, 10, tzinfo=UTC), "day": NOW.date()})
        assert rendered == "[昨天 23:10][][11月26日]"

    def test_short_date_of_a_plain_day(self):
        with translation.override("zh-hans"):
            assert short_date_text(NOW.date(), today=NOW.date()) == "11月26日"


@pytest.mark.django_db
def test_a_post_shows_its_time_in_the_viewers_words(client):
    host = make_user(username="maple", language="zh-hans", timezone="Asia/Shanghai")
    channel = make_channel(host=host, name="失眠")
    post_create_text(author=host, channel=channel, text="睡不着")
    client.login(username="maple", password=PASSWORD)
    page = client.get(reverse("interests:channel", args=[channel.public_id])).text
    local = timezone.localtime(timezone.now(), SHANGHAI).strftime("%H:%M")
    assert f"今天 {local}" in page


# ---------------------------------------------------------------- the catalogs


class TestCatalogs:
    def test_every_committed_mo_is_its_po_compiled(self):
        found = catalogs()
        assert {c.po.name for c in found} == {"django.po", "djangojs.po"}
        for catalog in found:
            assert catalog.mo.read_bytes() == catalog.compiled(), f"run manage.py compile_translations ({catalog.po})"
        call_command("compile_translations", "--check")

    def test_the_check_fails_when_a_po_changed_without_compiling(self, tmp_path, settings):
        copy = tmp_path / "zh_Hans" / "LC_MESSAGES"
        copy.mkdir(parents=True)
        po = polib.pofile(str(ZH / "django.po"))
        po.save(str(copy / "django.po"))
        (copy / "django.mo").write_bytes((ZH / "django.mo").read_bytes())
        settings.LOCALE_PATHS = [tmp_path]
        call_command("compile_translations", "--check")
        po.find("Home").msgstr = "主页"
        po.save(str(copy / "django.po"))
        with pytest.raises(Exception, match="Out of date"):
            call_command("compile_translations", "--check")
        call_command("compile_translations")
        assert polib.mofile(str(copy / "django.mo")).find("Home").msgstr == "主页"

    @pytest.mark.parametrize("domain", ["django", "djangojs"])
    def test_chinese_is_complete_and_keeps_every_placeholder(self, domain):
        po = polib.pofile(str(ZH / f"{domain}.po"))
        assert po.metadata["Plural-Forms"].startswith("nplurals=1;")
        assert not po.fuzzy_entries()
        assert not po.untranslated_entries()
        assert not po.obsolete_entries()
        # Leftovers of a fuzzy match ("#| msgid …") are refused by gettext's msgmerge: none may stay.
        assert "\n#|" not in (ZH / f"{domain}.po").read_text()
        placeholders = re.compile(r"%\(\w+\)[sd]|%%|</?\w+>")
        for entry in po:
            translated = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
            source = entry.msgid_plural or entry.msgid
            assert translated.strip(), entry.msgid
            assert sorted(placeholders.findall(translated)) == sorted(placeholders.findall(source)), entry.msgid

    def test_every_string_the_code_uses_is_in_the_catalog(self):
        """Ensure that nobody added a string without its translation (extraction without gettext)."""
        wanted = _python_msgids() | _template_msgids()
        have = {(e.msgctxt, e.msgid) for e in polib.pofile(str(ZH / "django.po"))}
        missing = sorted(str(m) for m in wanted - have)
        assert not missing, f"not in locale/zh_Hans/LC_MESSAGES/django.po: {missing}"

    def test_every_string_the_scripts_use_is_in_the_catalog(self):
        used: set[str] = set()
        for path in (ROOT / "static" / "js").glob("*.js"):
            used |= {json.loads(match) for match in re.findall(r'gettext\(\s*("(?:[^"\\]|\\.)*")', path.read_text())}
        assert len(used) > 20
        have = {e.msgid for e in polib.pofile(str(ZH / "djangojs.po"))}
        assert not used - have, sorted(used - have)


_SKIP_DIRS = {".venv", "tests", "bench", "docs", "node_modules", "var", "migrations", "static", "locale"}
_GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


def _sources(suffixes: tuple[str, ...]) -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*")
        if path.suffix in suffixes and not _SKIP_DIRS.intersection(path.relative_to(ROOT).parts[:-1])
    ]


def _python_msgids() -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for path in _sources((".py",)):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _GETTEXT):
                continue
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
            if node.func.id.startswith("p") and len(args) >= 2 and args[0] and args[1]:
                found.add((args[0], args[1]))
            elif args and args[0]:
                found.add((None, args[0]))
    assert len(found) > 100
    return found


def _template_msgids() -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for path in _sources((".html", ".txt")):
        if "templates" not in path.parts:
            continue
        source = path.read_text()
        # Django's own makemessages step: a template becomes Python-like calls to gettext.
        for line in templatize(source, origin=str(path)).splitlines():
            for call in re.finditer(r"\b(n?p?gettext)\(((?:'(?:[^'\\]|\\.)*'|\s|,|\w)*)\)", line):
                strings = [ast.literal_eval(s) for s in re.findall(r"'(?:[^'\\]|\\.)*'", call.group(2))]
                if call.group(1).startswith("p") or call.group(1).startswith("np"):
                    found.add((strings[0], strings[1]))
                elif strings:
                    found.add((None, strings[0]))
    assert len(found) > 300
    return found


HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_answers_in_the_persons_language():
    await database_sync_to_async(make_user)(username="xiaoyu", language="zh-hans")
    issued = await database_sync_to_async(token_issue)(login="xiaoyu", password=PASSWORD, client_ip="x")
    ws = WebsocketCommunicator(application, "/ws/", headers=HOST)
    connected, _subprotocol = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "auth", "token": issued.secret})
    assert (await ws.receive_json_from())["type"] == "auth.ok"
    await ws.send_json_to({"type": "resume", "conversation_id": "nope", "after": 0})
    reply = await ws.receive_json_from()
    assert (reply["code"], reply["message"]) == ("not_found", "没有这个会话。")
    await ws.send_json_to({"type": "resume", "conversation_id": "nope", "after": -1})
    assert (await ws.receive_json_from())["message"] == "`after` 是你手上最后一个序号：0 或更大。"
    await ws.send_json_to({"type": "nonsense"})
    assert await ws.receive_json_from() == {
        "type": "error",
        "code": "unknown_type",
        "message": "未知的帧类型 'nonsense'。",
    }
    await ws.disconnect()
