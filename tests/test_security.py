import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


class TestHeaders:
    def test_csp_uses_nonces_and_never_unsafe_inline(self, client):
        response = client.get(reverse("accounts:login"))
        policy = response["Content-Security-Policy"]
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        found = re.search(r"'nonce-([^']+)'", policy)
        assert found
        nonce = found.group(1)
        scripts = re.findall(r"<script[^>]*>", response.text)
        assert scripts
        assert all(f'nonce="{nonce}"' in tag for tag in scripts)
        assert " style=" not in response.text  # inline styles would be blocked

    def test_each_page_its_own_nonce_on_every_script_and_the_catalog_in_its_language(self, client):
        """The head's links and scripts are rendered once and reused (core/templatetags/shell.py): each
        response still carries its own nonce in every script tag, and the language's catalog."""
        client.force_login(make_user(username="walker"))
        nonces = []
        for language in ["en", "zh-hans", "en"]:
            User.objects.filter(username="walker").update(language=language)
            response = client.get(reverse("interests:explore"))
            found = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
            assert found
            nonce = found.group(1)
            scripts = re.findall(r"<script[^>]*>", response.text)
            assert len(scripts) == 3
            assert all(f'nonce="{nonce}"' in tag for tag in scripts)
            assert f'<html lang="{language}">' in response.text
            assert f"/jsi18n/?l={language}&amp;v=" in response.text
            nonces.append(nonce)
        assert len(set(nonces)) == 3

    def test_every_page_template_avoids_inline_styles_and_handlers(self):
        for template in list(ROOT.glob("templates/**/*.html")) + list(ROOT.glob("*/templates/**/*.html")):
            text = template.read_text()
            assert " style=" not in text, template
            assert not re.search(r"\son[a-z]+=", text), template
            assert "hx-on" not in text, template

    def test_security_headers(self, client):
        response = client.get("/")
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"

    def test_forms_refuse_posts_without_csrf(self):
        make_user(username="maple")
        client = Client(enforce_csrf_checks=True)
        response = client.post(reverse("accounts:login"), {"login": "maple", "password": PASSWORD})
        assert response.status_code == 403

    def test_htmx_requests_carry_the_csrf_token(self, client):
        page = client.get(reverse("accounts:signup"))
        assert re.search(r'hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', page.text)


class TestPrivacy:
    def test_pages_others_see_never_show_an_email(self, client):
        make_user(username="maple", email="maple@example.org")
        for path in ["/", "/login", "/signup", "/api/v1/openapi.json"]:
            assert "maple@example.org" not in client.get(path).text


def test_deploy_check_is_clean_with_the_production_environment(tmp_path):
    """Ensure that `manage.py check --deploy` gives no warning when production is configured."""
    env = {
        **os.environ,
        "SAME_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-for-tests-only",
        "ALLOWED_HOSTS": "same.example.org",
        "EMAIL_URL": "submission://mailer:secret@smtp.example.org",
        "SAME_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "same.settings",
    }
    env.pop("SAME_TESTING", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**os.environ, "SAME_ENV": "production", "ALLOWED_HOSTS": "x.org", "SAME_VAR_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    env["DJANGO_SETTINGS_MODULE"] = "same.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
