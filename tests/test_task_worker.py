import pytest
from django.core import mail
from django.core.management import call_command

from accounts.services import user_register


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_sends_the_queued_email(settings):
    """Ensure that with the durable backend (the default), the email waits in the queue until db_worker runs."""
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    user_register(email="fern@example.org", username="fern", password="lanterns over the lake", client_ip="x")
    assert mail.outbox == []
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    assert [m.to for m in mail.outbox] == [["fern@example.org"]]
