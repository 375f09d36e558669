"""Texts: a member turning them on or off, STOP/START/HELP, and sending one text once.

A text is a ``TextMessage`` row first, with a key that says what it is for; its sending is
an outbox message of the part that asked for it (a reminder, an alert page, the opt-in
confirmation). ``text_deliver`` claims the row (queued → sending, a compare-and-set), asks
the provider, and records the answer: a text goes out at most once, however often its
outbox message is tried. A provider that fails (down, 500, no answer in time) puts the row
back in line and raises, so the outbox tries again later; a refusal no retry can mend (the
number replied STOP, is not a mobile) fails it for good.
"""

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.lock_objects import lock_member
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition, transition_rows
from intake.models import MemberIntake
from intake.phones import phone_display, phone_e164
from texting import words
from texting.gateway import NoAnswer, Refused, text_provider
from texting.models import InboundText, StoppedNumber, TextMessage, TextSubscription
from texting.ports import inbound_reply

logger = logging.getLogger(__name__)

Status = TextMessage.Status
CONFIRMATION_MESSAGE = "texting.confirmation"
UNREAD_MESSAGE = "texting.unread"


# --- Quiet hours -------------------------------------------------------------------------


def quiet_at(moment: dt.datetime, zone: str) -> bool:
    """Whether ``moment`` falls in quiet hours (``TEXT_QUIET_HOURS``, 9 PM to 8 AM) where the
    member lives."""
    start, end = settings.TEXT_QUIET_HOURS
    hour = moment.astimezone(ZoneInfo(zone)).hour
    return hour >= start or hour < end if start > end else start <= hour < end


def may_text_now(*, now: dt.datetime, zone: str, about: dt.datetime) -> bool:
    """A text about something at ``about`` may go now: outside quiet hours, or the thing itself
    falls in them (a 7:30 AM session's reminder goes at 6:30)."""
    return not quiet_at(now, zone) or quiet_at(about, zone)


# --- A member's choice -------------------------------------------------------------------


# How often a member may turn texts on (or change the number) in a day: each time texts a
# confirmation the clinic pays for, to a number nobody checked is theirs.
CONFIRMATIONS_PER_DAY = 3
# Where we text: the United States and its territories on +1 (no premium or toll-free line).
TEXTABLE_REGIONS = {"US", "PR", "VI", "GU", "AS", "MP"}


def textable(e164: str) -> bool:
    number = phonenumbers.parse(e164, None)
    kind = phonenumbers.number_type(number)
    mobile = kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return phonenumbers.region_code_for_number(number) in TEXTABLE_REGIONS and mobile


def number_stopped(phone: str) -> bool:
    return StoppedNumber.objects.filter(phone=phone).exists()


class NumberStopped(InvalidInput):
    pass


def subscription_set(
    *, member: User, receive: bool, phone: str = "", language: str | None = None, request=None
) -> TextSubscription:
    """Turn a member's text reminders on (with the words they agreed to, and a confirmation
    text) or off. A number that replied STOP must reply START first: the carriers and Twilio
    send it nothing until then."""
    with transaction.atomic():
        lock_member(member.pk)
        subscription = TextSubscription.objects.filter(member=member).first()
        if receive:
            try:
                number = phone_e164(phone or (subscription.phone if subscription else ""))
            except Exception as exc:
                raise InvalidInput(
                    _("Enter a mobile number that can get texts, such as 212 555 0123."), code="phone"
                ) from exc
            if not textable(number):
                raise InvalidInput(
                    _("We can text US mobile numbers only. Enter one, such as 212 555 0123."), code="phone"
                )
            recent = TextMessage.objects.filter(
                member=member,
                purpose=TextMessage.Purpose.CONFIRMATION,
                created_at__gte=timezone.now() - dt.timedelta(days=1),
            )
            if recent.count() >= CONFIRMATIONS_PER_DAY:
                raise InvalidInput(
                    _(
                        "Texts were turned on or their number changed too often today. "
                        "Please try again tomorrow."
                    ),
                    code="too_many_changes",
                )
            if number_stopped(number):
                ours = phone_display(settings.TWILIO_FROM_NUMBER)
                raise NumberStopped(
                    _("This number replied STOP. Text START to %(number)s from it, then turn texts on.")
                    % {"number": ours}
                    if ours
                    else _("This number replied STOP. Reply START to one of our texts, then turn texts on."),
                    code="number_stopped",
                )
        if subscription is None:
            if not receive:
                return TextSubscription(member=member, status=TextSubscription.Status.OFF)
            subscription = TextSubscription.objects.create(member=member, phone=number)
        now = timezone.now()
        if receive:
            changed_number = subscription.phone != number
            subscription.phone = number
            # The words as the member read them: the page's language, else their own.
            subscription.agreed_words = words.opt_in_words(language or member.language)
            subscription.agreed_at = now
            subscription.changed_at = now
            if subscription.status != TextSubscription.Status.ON:
                transition(
                    subscription,
                    to=TextSubscription.Status.ON,
                    actor=member,
                    fields=("phone", "agreed_words", "agreed_at", "changed_at"),
                )
            elif changed_number:
                subscription.save(update_fields=["phone", "agreed_words", "agreed_at", "changed_at"])
                audit_record(
                    actor=member, action="textsubscription.number", obj=subscription, request=request
                )
            else:
                return subscription  # on already, same number: nothing to confirm again
            confirmation = text_queue(
                key=f"confirm-{subscription.pk}-{uuid.uuid4().hex}",
                to=number,
                purpose=TextMessage.Purpose.CONFIRMATION,
                member=member,
            )
            outbox_add(kind=CONFIRMATION_MESSAGE, payload={"text": confirmation.pk})
        elif subscription.status == TextSubscription.Status.ON:
            subscription.changed_at = now
            transition(subscription, to=TextSubscription.Status.OFF, actor=member, fields=("changed_at",))
    return subscription


def members_with_phone(phone: str) -> list[tuple[User, str]]:
    """Who has ``phone``: (user, where the number is on file) for text reminders and intakes."""
    found: list[tuple[User, str]] = []
    for subscription in TextSubscription.objects.filter(phone=phone).select_related("member"):
        found.append((subscription.member, "text reminders"))
    for intake in MemberIntake.objects.filter(phone=phone).select_related("member"):
        if all(user.pk != intake.member_id for user, _why in found):
            found.append((intake.member, "mobile on their intake"))
    return found


def subscription_of(member: User) -> TextSubscription | None:
    return TextSubscription.objects.filter(member=member).first()


def subscription_state(subscription: TextSubscription | None) -> str:
    """on, off or stopped, as the member and their therapist see it. The number's STOP is the
    one truth: a member who turned texts on at the moment their STOP arrived (the two doors
    meet on no common row) is stopped, whatever their row says."""
    if subscription is None or subscription.status == TextSubscription.Status.OFF:
        return TextSubscription.Status.OFF
    if subscription.status == TextSubscription.Status.STOPPED or number_stopped(subscription.phone):
        return TextSubscription.Status.STOPPED
    return TextSubscription.Status.ON


def receives_texts(member: User) -> bool:
    return subscription_state(subscription_of(member)) == TextSubscription.Status.ON


def receiving_q(prefix: str = "") -> Q:
    """Members who get texts, in a query: asked for them, and their number did not say STOP."""
    return Q(**{f"{prefix}status": TextSubscription.Status.ON}) & ~Q(
        Exists(StoppedNumber.objects.filter(phone=OuterRef(f"{prefix}phone")))
    )


# --- Sending -----------------------------------------------------------------------------


def text_queue(
    *,
    key: str,
    to: str,
    purpose: str,
    member: User | None = None,
    channel: str = TextMessage.Channel.SMS,
) -> TextMessage:
    """The row of one text to send (in the caller's transaction); the same key twice gives
    the first row back."""
    existing = TextMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return TextMessage.objects.create(key=key, to=to, purpose=purpose, member=member, channel=channel)
    except IntegrityError:
        return TextMessage.objects.get(key=key)


def text_deliver(*, message_id: int, body: str, at_most_once: bool = True) -> str:
    """Send one queued text (or call, ``body`` then being its TwiML); return its status.

    Raises when the provider failed in a way a later try may mend (the outbox tries again):
    it could not be reached, or answered an error. When the request went out and no answer
    came back the text may have gone: a member's text (``at_most_once``) is then failed, never
    sent twice; a clinician's page is tried again (twice is better than never).
    """
    now = timezone.now()
    message = TextMessage.objects.get(pk=message_id)
    if message.status != Status.QUEUED:
        return message.status
    mine = TextMessage.objects.filter(pk=message_id)
    if message.channel == TextMessage.Channel.SMS and number_stopped(message.to):
        transition_rows(mine, old=Status.QUEUED, to=Status.BLOCKED)
        return Status.BLOCKED
    if not transition_rows(mine, old=Status.QUEUED, to=Status.SENDING, attempts=F("attempts") + 1):
        return TextMessage.objects.get(pk=message_id).status  # another worker has it
    provider = text_provider()
    try:
        if message.channel == TextMessage.Channel.VOICE:
            sent = provider.call(to=message.to, twiml=body)
        else:
            sent = provider.text(to=message.to, body=body)
    except NoAnswer as lost:
        if at_most_once:
            transition_rows(
                mine, old=Status.SENDING, to=Status.FAILED, error=f"no answer ({lost}): may have gone"
            )
            logger.warning("text %s: no answer from the provider; not sent again", message_id)
            return Status.FAILED
        transition_rows(mine, old=Status.SENDING, to=Status.QUEUED, error=f"no answer ({lost})")
        raise
    except Refused as refused:
        if refused.stopped:
            _number_stop(message.to)
        status = Status.BLOCKED if refused.stopped else Status.FAILED
        transition_rows(mine, old=Status.SENDING, to=status, error=f"refused ({refused.code})")
        logger.warning("text %s refused by the provider (%s)", message_id, refused.code)
        return status
    except Exception as exc:
        transition_rows(mine, old=Status.SENDING, to=Status.QUEUED, error=type(exc).__name__[:200])
        raise
    transition_rows(mine, old=Status.SENDING, to=Status.SENT, provider_sid=sent.sid, sent_at=now, error="")
    logger.info("text %s (%s) sent", message_id, message.purpose)
    return Status.SENT


def text_reclaim_stalled(*, message_id: int) -> str:
    """A text left "sending" longer than any try can last (its worker died, or the outbox
    message that sent it ended meanwhile) is put back in line; return its status now. For
    texts that may go twice rather than never (a clinician's page)."""
    cutoff = timezone.now() - dt.timedelta(seconds=3 * settings.TWILIO_TIMEOUT_SECONDS + 30)
    transition_rows(
        TextMessage.objects.filter(pk=message_id, updated_at__lt=cutoff),
        old=Status.SENDING,
        to=Status.QUEUED,
        error="stalled while sending: tried again",
    )
    return TextMessage.objects.values_list("status", flat=True).get(pk=message_id)


def text_gave_up(*, message_id: int, error: str) -> None:
    """Its outbox message failed for good (out of tries, or its worker died mid-send): the
    text is failed too, never sent twice."""
    mine = TextMessage.objects.filter(pk=message_id)
    for old in (Status.QUEUED, Status.SENDING):
        transition_rows(mine, old=old, to=Status.FAILED, error=error[:200])


def texts_withdraw(message_ids: list[int]) -> int:
    """Texts not sent yet that are not needed any more (an alert acknowledged meanwhile)."""
    return transition_rows(
        TextMessage.objects.filter(pk__in=[pk for pk in message_ids if pk]),
        old=Status.QUEUED,
        to=Status.WITHDRAWN,
    )


PROVIDER_STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
}


def text_status_update(*, sid: str, provider_status: str, error_code: str = "") -> bool:
    """A provider's delivery report: move the text forward; a late, repeated or unknown
    report changes nothing. Return whether it moved."""
    status = PROVIDER_STATUSES.get(provider_status)
    message = TextMessage.objects.filter(provider_sid=sid).first()
    if status is None or message is None or message.status == status:
        return False
    if status not in TextMessage.TRANSITIONS.get(message.status, frozenset()):
        return False
    error = f"provider error {error_code}"[:200] if error_code else message.error
    moved = transition_rows(
        TextMessage.objects.filter(pk=message.pk), old=message.status, to=status, error=error
    )
    if moved and error_code == "21610":
        _number_stop(message.to)
    return bool(moved)


# --- Replies -----------------------------------------------------------------------------


def _members_lock(phone: str, exclude_status: str) -> list[TextSubscription]:
    """Lock the members with a subscription at ``phone`` (not in ``exclude_status``), in
    ascending id as the lock order asks; return their subscriptions, read again under it."""
    ids = sorted(
        set(
            TextSubscription.objects.filter(phone=phone)
            .exclude(status=exclude_status)
            .values_list("member_id", flat=True)
        )
    )
    for member_id in ids:
        lock_member(member_id)
    return list(
        TextSubscription.objects.filter(phone=phone, member_id__in=ids).exclude(status=exclude_status)
    )


def _number_stop(phone: str) -> None:
    """STOP: nothing more is texted to the number (calls are not texts: an on-call phone that
    replied STOP to a page still rings)."""
    with transaction.atomic():
        StoppedNumber.objects.get_or_create(phone=phone)
        for subscription in _members_lock(phone, TextSubscription.Status.STOPPED):
            subscription.changed_at = timezone.now()
            transition(
                subscription,
                to=TextSubscription.Status.STOPPED,
                actor=None,
                fields=("changed_at",),
                data={"by": "STOP"},
            )
        # Nothing waiting to be texted to it goes.
        transition_rows(
            TextMessage.objects.filter(to=phone, channel=TextMessage.Channel.SMS),
            old=Status.QUEUED,
            to=Status.BLOCKED,
            error="number replied STOP",
        )


def _number_start(phone: str) -> int:
    """The number may get texts again; a member's reminders stopped by STOP (or turned off)
    at this number are on again: texting START is asking for them. Return how many."""
    started = 0
    with transaction.atomic():
        StoppedNumber.objects.filter(phone=phone).delete()
        for subscription in _members_lock(phone, TextSubscription.Status.ON):
            subscription.changed_at = timezone.now()
            transition(
                subscription,
                to=TextSubscription.Status.ON,
                actor=None,
                fields=("changed_at",),
                data={"by": "START"},
            )
            started += 1
    return started


def _language_of(phone: str) -> str | None:
    subscription = TextSubscription.objects.filter(phone=phone).select_related("member").first()
    return subscription.member.language if subscription is not None else None


def inbound_text(*, message_sid: str, from_phone: str, body: str) -> str | None:
    """Act on a text someone sent us, once (by the provider's id); return the reply to send
    back, if any. STOP, START and HELP (English and Spanish) act at once; anything else is
    offered to the parts that wait for a reply (an alert's code), then kept for the care team,
    who are told, because a member writing to us must reach a person.

    A replay finds the row and acts on nothing; one racing the first delivery fails on the
    row's unique id when it writes it, and everything it did rolls back with it."""
    if InboundText.objects.filter(message_sid=message_sid).exists():
        return None  # a replay: acted on already
    try:
        with transaction.atomic():
            return _inbound_act(message_sid=message_sid, from_phone=from_phone, body=body)
    except IntegrityError:
        return None


def _inbound_act(*, message_sid: str, from_phone: str, body: str) -> str:
    said = words.keyword(body)
    if said is not None:
        name, keyword_language = said
        language = keyword_language if keyword_language != "en" else _language_of(from_phone)
        if name == "stop":
            _number_stop(from_phone)
            reply = words.stop_text(language)
        elif name == "start":
            started = _number_start(from_phone)
            reply = words.start_text(language) if started else words.start_unknown_text(language)
        else:
            reply = words.help_text(language)
        InboundText.objects.create(message_sid=message_sid, from_phone=from_phone, outcome=name)
        return reply
    answer = inbound_reply(from_phone=from_phone, body=body)
    if answer is not None:
        InboundText.objects.create(
            message_sid=message_sid, from_phone=from_phone, outcome=InboundText.Outcome.ACKNOWLEDGED
        )
        return answer
    inbound = InboundText.objects.create(
        message_sid=message_sid,
        from_phone=from_phone,
        outcome=InboundText.Outcome.UNREAD,
        status=InboundText.Status.NEW,
        body=body[:1600],
    )
    outbox_add(kind=UNREAD_MESSAGE, payload={"inbound": inbound.pk}, key=f"inbound-{inbound.pk}")
    return words.unread_text(_language_of(from_phone))


def inbound_mark_read(*, ids: list[int], actor: User, request=None) -> int:
    """Texts waiting for a person, marked read by staff who reached out: each moved once
    (a compare-and-set, so two staff at once count once) and audited. Return how many."""
    moved = 0
    for inbound in InboundText.objects.filter(pk__in=ids, status=InboundText.Status.NEW):
        if transition_rows(
            InboundText.objects.filter(pk=inbound.pk), old=InboundText.Status.NEW, to=InboundText.Status.READ
        ):
            audit_record(actor=actor, action="inboundtext.read", obj=inbound, request=request)
            moved += 1
    return moved


def inbound_refused(*, message_sid: str, from_phone: str, reason: str) -> None:
    """A request that could not be read: kept for staff (once per provider id), never acted on."""
    fields = {"from_phone": from_phone[:32], "outcome": InboundText.Outcome.REJECTED, "reason": reason[:200]}
    if message_sid:
        InboundText.objects.get_or_create(message_sid=message_sid[:64], defaults=fields)
    else:
        InboundText.objects.create(**fields)
