"""The outbox: a side effect exists if and only if its cause committed, and is carried out
once, through failures, retries, crashes and a sweeper that runs alongside the queue."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from grouport.models import AuditEntry, OutboxMessage, User
from grouport.outbox import HANDLERS, outbox_add, outbox_deliver, outbox_handler, outbox_sweep
from tests.factories import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

effects: list[tuple[str, dict]] = []
failures = {"left": 0}
gave_up: list[tuple[dict, str]] = []


@outbox_handler(
    "test.flaky", max_attempts=3, on_give_up=lambda payload, error: gave_up.append((payload, error))
)
def flaky(payload: dict) -> None:
    if failures["left"] > 0:
        failures["left"] -= 1
        raise ConnectionRefusedError("smtp down")
    effects.append(("flaky", payload))


@outbox_handler("test.safe", retry_safe=True)
def safe(payload: dict) -> None:
    effects.append(("safe", payload))


@pytest.fixture(autouse=True)
def _fresh():
    effects.clear()
    gave_up.clear()
    failures["left"] = 0
    yield


def later(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def test_a_message_exists_only_if_its_transaction_commits():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_add(kind="test.safe", payload={"n": 1})
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()


def test_an_unknown_kind_is_refused_when_written_not_when_delivered():
    with pytest.raises(LookupError):
        outbox_add(kind="test.nobody", payload={})


def test_delivered_on_commit_once_however_often_the_task_runs(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox_add(kind="test.safe", payload={"n": 1})
    assert effects == [("safe", {"n": 1})]
    assert outbox_deliver(message_id=message.pk) is None  # a re-delivered task does nothing
    outbox_sweep(now=later(5))
    assert effects == [("safe", {"n": 1})]
    message.refresh_from_db()
    assert message.status == "done" and message.attempts == 1 and message.done_at


def test_a_failure_is_retried_with_backoff_then_succeeds_once():
    failures["left"] = 2
    message = outbox_add(kind="test.flaky", payload={"n": 2})
    assert outbox_deliver(message_id=message.pk) == "pending"
    message.refresh_from_db()
    assert message.last_error == "ConnectionRefusedError" and message.available_at > timezone.now()
    assert outbox_deliver(message_id=message.pk) is None  # not due yet
    outbox_sweep(now=later(1))  # the first backoff is about 30 s
    outbox_sweep(now=later(5))
    assert effects == [("flaky", {"n": 2})]
    message.refresh_from_db()
    assert message.status == "done" and message.attempts == 3


def test_after_its_last_attempt_a_message_is_failed_for_staff_and_the_handler_gives_up():
    failures["left"] = 99
    message = outbox_add(kind="test.flaky", payload={"n": 3})
    for minutes in (0, 10, 60, 600):
        outbox_deliver(message_id=message.pk, now=later(minutes))
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 3
    assert gave_up == [({"n": 3}, "ConnectionRefusedError")]
    assert effects == []


def test_a_delivery_whose_worker_died_is_retried_only_when_that_is_safe():
    unsafe = outbox_add(kind="test.flaky", payload={"n": 4})
    safe_one = outbox_add(kind="test.safe", payload={"n": 5})
    # Both claimed by a worker that then died (the row says "sending", its lease runs out).
    for message in (unsafe, safe_one):
        OutboxMessage.objects.filter(pk=message.pk).update(
            status="sending", attempts=1, lease_until=timezone.now() + dt.timedelta(minutes=10)
        )
    outbox_sweep(now=later(1))
    assert effects == []  # leases still running: nobody else touches them
    outbox_sweep(now=later(30))
    unsafe.refresh_from_db()
    safe_one.refresh_from_db()
    assert unsafe.status == "failed" and unsafe.last_error == "worker stopped while delivering"
    assert safe_one.status == "done"
    assert effects == [("safe", {"n": 5})]  # the email-like one is never sent twice


def test_the_sweeper_leaves_a_new_message_to_the_task_queued_at_its_commit():
    message = outbox_add(kind="test.safe", payload={"n": 6})
    outbox_sweep(now=timezone.now())
    assert effects == []
    outbox_sweep(now=later(1))
    assert effects == [("safe", {"n": 6})]
    message.refresh_from_db()
    assert message.status == "done"


def test_one_message_per_key():
    first = outbox_add(kind="test.safe", payload={"n": 7}, key="purpose-7")
    again = outbox_add(kind="test.safe", payload={"n": 7}, key="purpose-7")
    assert first is not None and again is None
    assert OutboxMessage.objects.filter(key="purpose-7").count() == 1


def test_staff_send_a_failed_message_again_from_the_admin(client):
    failures["left"] = 99
    message = outbox_add(kind="test.flaky", payload={"n": 8})
    for minutes in (0, 10, 60):
        outbox_deliver(message_id=message.pk, now=later(minutes))
    message.refresh_from_db()
    assert message.status == "failed"
    failures["left"] = 0
    staff = User.objects.create_superuser("ops@example.test", "pw-ops-12345")
    sign_in(client, staff)
    listing = client.get("/admin/grouport/outboxmessage/?status__exact=failed")
    assert listing.status_code == 200 and "test.flaky" in listing.content.decode()
    response = client.post(
        "/admin/grouport/outboxmessage/", {"action": "retry", "_selected_action": [message.pk]}
    )
    assert response.status_code == 302
    outbox_sweep(now=later(1))
    message.refresh_from_db()
    assert message.status == "done" and effects == [("flaky", {"n": 8})]
    assert AuditEntry.objects.filter(action="outbox.pending", actor=staff).count() == 1


def test_every_kind_the_code_writes_has_a_handler():
    import re

    from tests.project import PACKAGES, ROOT

    written = set()
    for app in PACKAGES:
        for path in (ROOT / app).rglob("*.py"):
            written |= set(re.findall(r'kind="([a-z_]+\.[a-z_]+)"', path.read_text()))
    assert written and written <= set(HANDLERS), written - set(HANDLERS)
