"""Bearer tokens are looked up by a hand-written query (accounts.services.token_authenticate): it must
find exactly what the ORM would, refuse what it should, and keep last_used_at readable by the ORM."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessToken
from accounts.services import _digest, token_authenticate
from core.prepared import Prepared, sql_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db

SECRET = "same_" + "k" * 43


def test_the_token_finds_its_person_whole_and_notes_its_first_use():
    owl = make_user(username="owl", timezone="Asia/Shanghai")
    token = AccessToken.objects.create(user=owl, digest=_digest(SECRET))
    before = timezone.now()
    found = token_authenticate(secret=SECRET)
    assert found == owl
    assert (found.username, found.timezone, found.email) == ("owl", "Asia/Shanghai", owl.email)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()
    assert AccessToken.objects.filter(last_used_at__gte=before).count() == 1  # stored as the ORM stores it


def test_last_use_is_written_at_most_once_a_minute():
    owl = make_user(username="owl")
    AccessToken.objects.create(user=owl, digest=_digest(SECRET))
    token_authenticate(secret=SECRET)
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(secret=SECRET) == owl
    assert len(queries) == 1  # the lookup only
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("accounts.services.timezone.now", return_value=later), CaptureQueriesContext(connection) as queries:
        assert token_authenticate(secret=SECRET) == owl
    # PostgreSQL writes the last use in the lookup's own statement; elsewhere it is an UPDATE after it.
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert AccessToken.objects.get().last_used_at == later


@pytest.mark.parametrize("secret", ["same_unknown", "not-a-token", "same_" + "x" * 200, ""])
def test_unknown_and_malformed_tokens_find_nobody(secret):
    AccessToken.objects.create(user=make_user(username="owl"), digest=_digest(SECRET))
    assert token_authenticate(secret=secret) is None


def test_a_deactivated_persons_token_finds_nobody_and_is_not_touched():
    owl = make_user(username="owl")
    AccessToken.objects.create(user=owl, digest=_digest(SECRET))
    owl.is_active = False
    owl.save(update_fields=["is_active"])
    assert token_authenticate(secret=SECRET) is None
    assert AccessToken.objects.get().last_used_at is None


def test_a_revoked_token_finds_nobody():
    owl = make_user(username="owl")
    AccessToken.objects.create(user=owl, digest=_digest(SECRET))
    assert token_authenticate(secret=SECRET) == owl
    AccessToken.objects.all().delete()
    assert token_authenticate(secret=SECRET) is None


@pytest.mark.django_db(transaction=True)
def test_a_lasting_connection_runs_the_lookup_by_name_and_touches_the_token_in_it():
    """Ensure that on a lasting PostgreSQL connection (the server's pool) the lookup is prepared once and run by name,
    one statement that writes a stale token's last use and leaves a fresh one alone."""
    if connection.vendor != "postgresql" or not sql_for(Prepared("same_test_lasting", "SELECT 1"))[0].startswith(
        "EXECUTE"
    ):
        pytest.skip("PostgreSQL's lasting connections only: elsewhere the statement runs as itself")
    owl = make_user(username="owl")
    AccessToken.objects.create(user=owl, digest=_digest(SECRET))
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(secret=SECRET) == owl
    ran = [q["sql"][:35] for q in queries.captured_queries if not q["sql"].startswith("PREPARE")]
    assert ran == ["EXECUTE same_bearer_lookup_touched("]
    first_use = AccessToken.objects.get().last_used_at
    assert first_use is not None
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(secret=SECRET) == owl
    assert [q["sql"][:35] for q in queries.captured_queries] == ["EXECUTE same_bearer_lookup_touched("]
    assert AccessToken.objects.get().last_used_at == first_use  # fresh: not written again
