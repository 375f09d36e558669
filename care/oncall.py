"""The safety net's pager: an alert rings the clinician on call until a person takes it.

When a safety alert opens (``care/services.py``) the first on the rota is texted and called
at once (step 0), in the alert's transaction. The periodic job ``alerts_escalate`` looks
every minute: an alert nobody acknowledged after ``ALERT_ESCALATE_MINUTES`` pages everyone
paged so far again and the next on the rota (step 1); after twice that, everyone on the
rota now and every care-team lead (step 2). Each step is an ``AlertStep`` row, claimed
under a unique constraint (a job that runs twice pages once), with one ``AlertPage`` per
person, one outbox message each, and an audit entry.

Never silenced: a person paged once is paged again at the next step whether or not they are
still on the rota; nobody on the rota means the leads; the emails to the therapist and the
on-call address go whatever the rota says. A page's text goes through the outbox like every
other side effect, retried every minute while the provider is down, and the pages of one
alert go in order (an earlier one first). Acknowledging (one tap on the link, or a reply
with the alert's code, from a phone that was paged) stops the steps and withdraws the pages
not sent yet; two acknowledgements at once count once (the alert's row lock).

A text names no member and nothing clinical: "an alert needs you", a link behind sign-in
and the second factor, and the code.
"""

import datetime as dt
import logging
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from care.lock_objects import lock_safety_alert
from care.models import AlertPage, AlertStep, OnCallClinician, OnCallShift, SafetyAlert
from grouport.audit import audit_record
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.roles import is_operations
from grouport.transitions import transition
from texting.models import TextMessage
from texting.services import text_queue, texts_withdraw

logger = logging.getLogger(__name__)

PAGE_MESSAGE = "care.alert_page"
PAGE_BLOCKED = "care.page_blocked"
LAST_STEP = 2


def alert_url(alert_id: int) -> str:
    return f"{settings.SITE_URL}/care/alerts/{alert_id}/"


def page_text(alert: SafetyAlert) -> str:
    """What a page says: no member, nothing clinical; the link and the code."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("grouport: an alert needs you now. Open %(link)s or reply %(code)s to take it.") % {
            "link": alert_url(alert.pk),
            "code": alert.code,
        }


def page_twiml(alert: SafetyAlert) -> str:
    words = (
        "This is grouport. An alert needs you now. The link is in your texts; "
        f"reply {' '.join(alert.code)} to take it."
    )
    return f'<Response><Say>{words}</Say><Pause length="1"/><Say>{words}</Say></Response>'


# --- Who is on call ----------------------------------------------------------------------


def on_call_at(now: dt.datetime) -> list[OnCallClinician]:
    """The rota at ``now``: people whose shift covers it, first the lowest position (each once)."""
    shifts = (
        OnCallShift.objects.filter(starts_at__lte=now, ends_at__gt=now, clinician__active=True)
        .select_related("clinician__user")
        .order_by("position", "starts_at", "pk")
    )
    seen: dict[int, OnCallClinician] = {}
    for shift in shifts:
        seen.setdefault(shift.clinician_id, shift.clinician)
    return list(seen.values())


def leads() -> list[OnCallClinician]:
    return list(
        OnCallClinician.objects.filter(is_lead=True, active=True).select_related("user").order_by("pk")
    )


def _step_recipients(alert: SafetyAlert, step: int, now: dt.datetime) -> list[tuple[User, str]]:
    """(person, phone) to page at ``step``: see the module's docstring."""
    earlier: list[tuple[User, str]] = []
    current = dict(OnCallClinician.objects.values_list("user_id", "phone"))
    for page in (
        AlertPage.objects.filter(alert=alert, step__lt=step).select_related("recipient").order_by("pk")
    ):
        if all(user.pk != page.recipient_id for user, _phone in earlier):
            # Their phone on the rota now (it may have changed since), else the one paged.
            earlier.append((page.recipient, current.get(page.recipient_id) or page.phone))
    paged = {user.pk for user, _phone in earlier}
    rota = on_call_at(now)
    chosen: list[OnCallClinician] = []
    if step == 0:
        chosen = rota[:1] or leads()
    elif step == 1:
        fresh = [person for person in rota if person.user_id not in paged]
        chosen = fresh[:1] or [person for person in leads() if person.user_id not in paged]
    else:
        chosen = [*rota, *leads()]
    people = list(earlier)
    for person in chosen:
        if all(user.pk != person.user_id for user, _phone in people):
            people.append((person.user, person.phone))
    return people


# --- Paging ------------------------------------------------------------------------------


def alert_code_new() -> str:
    """Six digits, not used by another alert still waiting."""
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if not SafetyAlert.objects.filter(code=code, status=SafetyAlert.Status.OPEN).exists():
            return code


def alert_page_step(*, alert: SafetyAlert, step: int, now: dt.datetime) -> AlertStep | None:
    """Claim ``step`` of ``alert`` and page its people (in the caller's transaction); ``None``
    when another run claimed it."""
    try:
        with transaction.atomic():
            claimed = AlertStep.objects.create(alert=alert, step=step, at=now)
    except IntegrityError:
        return None
    people = _step_recipients(alert, step, now)
    for user, phone in people:
        page = AlertPage.objects.create(alert=alert, step=step, recipient=user, phone=phone, created_at=now)
        page.text = text_queue(
            key=f"page-{page.pk}-sms", to=phone, purpose=TextMessage.Purpose.PAGE, member=None
        )
        page.call = text_queue(
            key=f"page-{page.pk}-call",
            to=phone,
            purpose=TextMessage.Purpose.PAGE,
            channel=TextMessage.Channel.VOICE,
        )
        page.save(update_fields=["text", "call"])
        outbox_add(kind=PAGE_MESSAGE, payload={"page": page.pk}, key=f"alert-page-{page.pk}")
    audit_record(
        actor=None,
        action="safety_alert.paged",
        obj=alert,
        data={"step": step, "people": [user.pk for user, _phone in people]},
    )
    if not people:
        # The emails to the therapist and the on-call address still go; staff see it on the alert.
        logger.warning("alert %s step %s: nobody on the rota and no lead to page", alert.pk, step)
    return claimed


def alert_pages_start(*, alert: SafetyAlert, now: dt.datetime) -> None:
    """Step 0, in the transaction that opened the alert."""
    alert.code = alert_code_new()
    alert.save(update_fields=["code"])
    alert_page_step(alert=alert, step=0, now=now)


def alerts_escalate(*, now: dt.datetime | None = None) -> int:
    """The periodic job: page the next step of every alert nobody has taken in time. Return
    how many steps were taken."""
    now = now or timezone.now()
    wait = dt.timedelta(minutes=settings.ALERT_ESCALATE_MINUTES)
    taken = 0
    waiting = SafetyAlert.objects.filter(status=SafetyAlert.Status.OPEN, created_at__lte=now - wait).exclude(
        steps__step=LAST_STEP
    )
    for alert_id, created_at in waiting.values_list("pk", "created_at"):
        due = min(int((now - created_at) / wait), LAST_STEP)
        with transaction.atomic():
            alert = lock_safety_alert(alert_id)
            if alert.status != SafetyAlert.Status.OPEN:
                continue
            done = set(alert.steps.values_list("step", flat=True))
            if 0 not in done:  # an alert from before the rota existed: page now
                alert_pages_start(alert=alert, now=now)
            for step in range(1, due + 1):
                if step not in done and alert_page_step(alert=alert, step=step, now=now) is not None:
                    taken += 1
    if taken:
        logger.warning("%d alert escalation steps paged", taken)
    return taken


def alert_pages_withdraw(alert: SafetyAlert) -> int:
    """The pages not sent yet, withdrawn (a person has the alert)."""
    ids = [pk for pair in alert.pages.values_list("text_id", "call_id") for pk in pair if pk]
    return texts_withdraw(ids)


# --- Taking it ---------------------------------------------------------------------------


def safety_alert_acknowledge(
    *, alert_id: int, actor: User, via: str, request=None
) -> tuple[SafetyAlert, bool]:
    """``actor`` has the alert: the pages stop. Return (the alert, whether this call took it);
    a second acknowledgement, at the same moment or later, changes nothing."""
    with transaction.atomic():
        alert = lock_safety_alert(alert_id)
        if alert.status != SafetyAlert.Status.OPEN:
            return alert, False
        alert.acknowledged_by, alert.acknowledged_at, alert.acknowledged_via = actor, timezone.now(), via
        transition(
            alert,
            to=SafetyAlert.Status.ACKNOWLEDGED,
            actor=actor,
            fields=("acknowledged_by", "acknowledged_at", "acknowledged_via"),
            data={"via": via},
        )
        withdrawn = alert_pages_withdraw(alert)
    logger.info("alert %s acknowledged (%s); %d pages withdrawn", alert.pk, via, withdrawn)
    return alert, True


# How long someone paged for an alert may still open it once it is reviewed.
PAGED_SEE_AFTER_REVIEW = dt.timedelta(days=1)


def may_see_alert(user: User, alert: SafetyAlert) -> bool:
    """The group's therapist and operations staff; and whoever was paged for it, while it
    waits for its review and for a day after (the member is not theirs to follow for ever)."""
    if is_operations(user):
        return True
    if alert.reservation.group.therapist.user_id == user.pk:
        return True
    if not alert.pages.filter(recipient=user).exists():
        return False
    if alert.status != SafetyAlert.Status.REVIEWED:
        return True
    return alert.reviewed_at is not None and timezone.now() - alert.reviewed_at < PAGED_SEE_AFTER_REVIEW


CODE = re.compile(r"\b(\d{6})\b")


def alert_reply(*, from_phone: str, body: str) -> str | None:
    """texting's port: a reply carrying an alert's code, from a phone paged for that alert,
    acknowledges it. Anything else is not ours (``None``)."""
    match = CODE.search(body)
    if match is None:
        return None
    page = (
        AlertPage.objects.filter(phone=from_phone, alert__code=match.group(1))
        .select_related("recipient")
        .order_by("-pk")
        .first()
    )
    if page is None:
        # A clinician's mistyped or stale code: not a member's words for the care team.
        if (
            OnCallClinician.objects.filter(phone=from_phone).exists()
            or AlertPage.objects.filter(phone=from_phone).exists()
        ):
            with translation.override(settings.LANGUAGE_CODE):
                return _(
                    "grouport: That code is not an alert waiting for you. "
                    "Open the link in the text to take it."
                )
        return None
    alert, took = safety_alert_acknowledge(alert_id=page.alert_id, actor=page.recipient, via="text")
    with translation.override(settings.LANGUAGE_CODE):
        if took or alert.acknowledged_by_id == page.recipient_id:
            return _("grouport: Thank you, it is yours. Details: %(link)s") % {"link": alert_url(alert.pk)}
        return _("grouport: Someone has already taken it. Details: %(link)s") % {"link": alert_url(alert.pk)}
