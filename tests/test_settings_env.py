import pytest
from django.core.exceptions import ImproperlyConfigured

from same.settings import _mailer


class TestEmailUrl:
    def test_console_by_default(self):
        assert _mailer("console://")["BACKEND"].endswith("console.EmailBackend")

    def test_smtp_with_credentials_and_starttls(self):
        mailer = _mailer("smtp://me%40x.org:p%2Fw@mail.example.org:2525?tls=1")
        assert mailer["OPTIONS"] == {
            "host": "mail.example.org",
            "port": 2525,
            "username": "me@x.org",
            "password": "p/w",
            "use_ssl": False,
            "use_tls": True,
            "timeout": 10,
        }

    def test_smtps_defaults_to_465_with_ssl(self):
        options = _mailer("smtps://mail.example.org")["OPTIONS"]
        assert isinstance(options, dict)
        assert options["port"] == 465
        assert options["use_ssl"] is True

    def test_unknown_scheme_is_a_clear_error(self):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
            _mailer("pigeon://coop")
