"""The transactional outbox: every side effect is a row first, delivered after the commit.

How a side effect travels:

1. A service writes ``outbox_add(kind=..., payload={ids})`` inside the transaction of the
   change that causes it. Roll back, and the effect never existed; commit, and it will
   happen.
2. On commit, a Celery task is queued to deliver it at once. If the broker is down, the
   queueing fails quietly (logged): the request that made the change still succeeds.
3. ``outbox_sweep`` (a periodic job, every minute) delivers whatever is due and was not
   delivered: a lost task, a broker outage, a failed try waiting for its next attempt.
4. A delivery claims the row (pending → sending, a compare-and-set), runs the handler and
   marks it done. A failure puts it back with exponential backoff; after ``max_attempts`` it
   is failed, for staff to see in the admin (and the handler's ``on_give_up`` runs).

A worker that dies mid-delivery leaves the row "sending". When its lease runs out the
sweeper sends it again only if the handler is ``retry_safe`` (the far end is idempotent,
as Stripe is with our idempotency keys); an email is never sent twice, so an unsafe one is
marked failed instead (at most once).

Handlers live in the app that owns the effect (``enrollment/outbox.py``,
``attendance/outbox.py``, ``billing/outbox.py``...) and register here by name: this module imports no app.
"""

import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import kombu.exceptions
from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from grouport.audit import audit_record
from grouport.models import OutboxMessage
from grouport.transitions import transition_rows

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status


@dataclass(frozen=True)
class Handler:
    run: Callable[[dict[str, Any]], None]
    # True when running it again after a crash cannot repeat the effect (an idempotent API).
    retry_safe: bool = False
    max_attempts: int = 8
    on_give_up: Callable[[dict[str, Any], str], None] | None = None
    # The longest wait between two tries (a safety page is tried every minute, not every 30).
    max_backoff_seconds: int = 30 * 60


HANDLERS: dict[str, Handler] = {}


def outbox_handler(
    kind: str,
    *,
    retry_safe: bool = False,
    max_attempts: int = 8,
    on_give_up: Callable[[dict[str, Any], str], None] | None = None,
    max_backoff_seconds: int = 30 * 60,
) -> Callable:
    """Register the function that carries out messages of ``kind``."""

    def register(run: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        if kind in HANDLERS and HANDLERS[kind].run is not run:
            raise RuntimeError(f"two outbox handlers for {kind}")
        HANDLERS[kind] = Handler(run, retry_safe, max_attempts, on_give_up, max_backoff_seconds)
        return run

    return register


def outbox_add(*, kind: str, payload: dict[str, Any], key: str | None = None) -> OutboxMessage | None:
    """Record a side effect in the current transaction; it is delivered after the commit.

    With ``key``, a second message for the same purpose is not added (``None`` is returned).
    """
    if kind not in HANDLERS:
        raise LookupError(f"no outbox handler for {kind}")
    now = timezone.now()
    if key is not None:
        if OutboxMessage.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                message = OutboxMessage.objects.create(
                    kind=kind, payload=payload, key=key, available_at=now, created_at=now
                )
        except IntegrityError:
            return None  # the same purpose, added a moment ago by a racing call
    else:
        message = OutboxMessage.objects.create(kind=kind, payload=payload, available_at=now, created_at=now)
    publish_on_commit(DELIVER_TASK, message.pk)
    return message


def outbox_add_many(*, kind: str, messages: list[tuple[dict[str, Any], str]]) -> int:
    """Record many side effects of one kind at once, each ``(payload, key)``, in the current
    transaction: one insert however many. The caller knows the keys are new (it has just
    claimed what they stand for); a key already taken fails the whole transaction."""
    if kind not in HANDLERS:
        raise LookupError(f"no outbox handler for {kind}")
    if not messages:
        return 0
    now = timezone.now()
    created = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(kind=kind, payload=payload, key=key, available_at=now, created_at=now)
            for payload, key in messages
        ]
    )
    for message in created:
        publish_on_commit(DELIVER_TASK, message.pk)
    return len(created)


# Tasks are named, not imported: they live in the apps' tasks modules, which import this one.
DELIVER_TASK = "grouport.tasks.deliver_outbox_message"


def publish_on_commit(task: str, *args: Any) -> None:
    """Queue ``task`` after the commit, and never let a broker outage fail the request.

    The change is already committed when this runs; an exception here would turn it into an
    error page although it happened. The row it concerns stays due, and the sweeper
    delivers it when the broker is back.
    """
    transaction.on_commit(partial(publish_safely, task, args))


# Until when (time.monotonic) this process does not try the broker: it failed a moment ago.
_broker_down_until = 0.0
BROKER_ERRORS = (kombu.exceptions.OperationalError, OSError, TimeoutError)


def publish_safely(task: str, args: tuple) -> bool:
    """Queue the task named ``task`` now; on any failure log it and return False.

    A broker that cannot be reached (down, or hung until the socket timeout) is not tried
    again by this process for ``BROKER_DOWN_SECONDS``: every request meanwhile answers at
    once, and the sweeper delivers what it committed.
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.warning(
            "%s%s not queued (the broker failed a moment ago); the sweeper will deliver it", task, args
        )
        return False
    try:
        if current_app.conf.task_always_eager:  # no broker: the task runs here and now
            current_app.tasks[task].apply_async(args=args)
            return True
        with current_app.producer_or_acquire() as producer:
            try:
                current_app.tasks[task].apply_async(
                    args=args, producer=producer, retry_policy=settings.CELERY_PUBLISH_RETRY_POLICY
                )
            except BROKER_ERRORS:
                # This pooled connection is broken: dropped, so the next try after the pause
                # connects afresh (to a broker that may be back by then).
                with contextlib.suppress(Exception):
                    producer.connection.collect()
                raise
    except Exception as exc:
        if isinstance(exc, BROKER_ERRORS):
            _broker_down_until = time.monotonic() + settings.BROKER_DOWN_SECONDS
        logger.warning("%s%s not queued (%s); the sweeper will deliver it", task, args, type(exc).__name__)
        return False
    return True


def broker_trust_again() -> None:
    """Try the broker at the next publish (tests; and anyone who knows it is back)."""
    global _broker_down_until
    _broker_down_until = 0.0


def _backoff(attempts: int, most: int = 30 * 60) -> dt.timedelta:
    """Exponential backoff with jitter: about 30 s, 1, 2, 4 ... minutes, at most ``most``
    seconds (30 minutes unless the handler says less)."""
    base = min(30 * 2 ** max(attempts - 1, 0), most)
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def outbox_deliver(*, message_id: int, now: dt.datetime | None = None) -> str | None:
    """Deliver one message if it is due and nobody else is delivering it; return its new status.

    ``None`` means there was nothing to do (done already, not due, or claimed by another).
    """
    now = now or timezone.now()
    claimed = transition_rows(
        OutboxMessage.objects.filter(pk=message_id, available_at__lte=now),
        old=Status.PENDING,
        to=Status.SENDING,
        now=now,
        attempts=F("attempts") + 1,
        lease_until=now + dt.timedelta(minutes=settings.OUTBOX_LEASE_MINUTES),
    )
    if not claimed:
        return None
    message = OutboxMessage.objects.get(pk=message_id)
    handler = HANDLERS.get(message.kind)
    try:
        if handler is None:
            raise LookupError(f"no outbox handler for {message.kind}")
        # Staff emails in the clinic's language, whichever request or worker delivers them;
        # a member's email switches to the member's own (``email_send``).
        with translation.override(settings.LANGUAGE_CODE):
            handler.run(message.payload)
    except Exception as exc:
        error = type(exc).__name__[:200]
        # Ids and the error's type only: an exception's text may carry an address.
        logger.warning(
            "outbox %s (%s) attempt %d failed: %s", message.pk, message.kind, message.attempts, error
        )
        mine = OutboxMessage.objects.filter(pk=message.pk)
        if handler is None or message.attempts >= handler.max_attempts:
            transition_rows(mine, old=Status.SENDING, to=Status.FAILED, last_error=error, lease_until=None)
            logger.error("outbox %s (%s) failed for good: staff should look", message.pk, message.kind)
            if handler is not None and handler.on_give_up is not None:
                handler.on_give_up(message.payload, error)
            return Status.FAILED
        transition_rows(
            mine,
            old=Status.SENDING,
            to=Status.PENDING,
            last_error=error,
            lease_until=None,
            available_at=now + _backoff(message.attempts, handler.max_backoff_seconds),
        )
        return Status.PENDING
    transition_rows(
        OutboxMessage.objects.filter(pk=message.pk),
        old=Status.SENDING,
        to=Status.DONE,
        done_at=now,
        last_error="",
        lease_until=None,
    )
    return Status.DONE


def outbox_recover_stalled(*, now: dt.datetime) -> tuple[int, int]:
    """Deal with deliveries whose worker died: retry the safe ones, fail the others (and
    tell their handler, as when a message runs out of tries).

    Return (sent back in line, marked failed).
    """
    stalled = OutboxMessage.objects.filter(status=Status.SENDING, lease_until__lt=now)
    safe = [kind for kind, handler in HANDLERS.items() if handler.retry_safe]
    retried = transition_rows(
        stalled.filter(kind__in=safe), old=Status.SENDING, to=Status.PENDING, now=now, available_at=now
    )
    error = "worker stopped while delivering"
    failed = 0
    for message_id, kind, payload in stalled.exclude(kind__in=safe).values_list("pk", "kind", "payload"):
        mine = OutboxMessage.objects.filter(pk=message_id, lease_until__lt=now)
        if not transition_rows(mine, old=Status.SENDING, to=Status.FAILED, now=now, last_error=error):
            continue  # finished a moment ago after all
        failed += 1
        handler = HANDLERS.get(kind)
        if handler is not None and handler.on_give_up is not None:
            handler.on_give_up(payload, error)
    if failed:
        logger.warning("%d outbox deliveries stopped midway marked failed (never sent twice)", failed)
    return retried, failed


def outbox_sweep(*, now: dt.datetime | None = None, budget_seconds: float = 60.0) -> int:
    """The periodic job: deliver every message that is due and was not delivered.

    A message never tried and younger than a few seconds is left to the task queued at its
    commit. The run stops after ``budget_seconds`` (well under the task time limit); the next run goes on.
    """
    now = now or timezone.now()
    outbox_recover_stalled(now=now)
    grace = now - dt.timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    due = OutboxMessage.objects.filter(
        Q(attempts=0, available_at__lte=grace) | Q(attempts__gt=0, available_at__lte=now),
        status=Status.PENDING,
    ).order_by("available_at", "pk")
    started = time.monotonic()
    delivered = 0
    for message_id in due.values_list("pk", flat=True)[:500]:
        if time.monotonic() - started > budget_seconds:
            break
        if outbox_deliver(message_id=message_id, now=now) == Status.DONE:
            delivered += 1
    if delivered:
        logger.info("outbox sweep delivered %d messages", delivered)
    return delivered


def outbox_retry(*, message: OutboxMessage, actor: Any = None) -> None:
    """Put a failed message back in line (staff, from the admin)."""
    with transaction.atomic():
        moved = transition_rows(
            OutboxMessage.objects.filter(pk=message.pk),
            old=Status.FAILED,
            to=Status.PENDING,
            attempts=0,
            available_at=timezone.now(),
            last_error="",
        )
        if moved:
            audit_record(actor=actor, action="outbox.pending", obj=message, data={"from": "failed"})
            publish_on_commit(DELIVER_TASK, message.pk)
