"""Nothing of the intake leaves the server: not in any email (subject, body, attachment),
calendar file, log line or Stripe request, through a whole paid, reviewed seat."""

import datetime as dt
import logging
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client

from attendance.calendar import reservation_calendar
from enrollment.models import Reservation
from enrollment.services.review import reservation_review_approve
from intake.services import IntakeData, intake_save
from tests.enrollment.test_api import api_for, reserve
from tests.factories import GroupFactory, calm_answers, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SECRETS = IntakeData(
    birth_date=dt.date(1979, 11, 23),
    phone="+12125550187",
    emergency_name="Zebulon Quartermaine",
    emergency_relationship="Godparent",
    emergency_phone="+12015550166",
    address_line="987 Xylophone Parkway",
    address_city="Quogue",
    address_state="NY",
    address_postal_code="11959",
)
NEEDLES = (
    "1979-11-23", "11/23/1979", "5550187", "555-0187", "5550166", "555-0166", "Zebulon", "Quartermaine",
    "Godparent", "Xylophone", "Quogue", "11959", "Lonely-Answer-42", "Cape-Secret-Harbor",
)  # fmt: skip


def test_no_intake_value_in_emails_calendars_logs_or_stripe(
    stripe_fake, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    t0 = dt.datetime(2026, 2, 2, 15, tzinfo=dt.UTC)
    with time_machine.travel(t0 - dt.timedelta(days=1), tick=False):
        group = GroupFactory(
            price=Decimal("150"), therapist=licensed_therapist("NY"), requires_review=True,
            starts_on=dt.date(2026, 3, 3), weekday=1,
        )  # fmt: skip
    ana = member()
    text_question = max(calm_answers())  # the free-text question comes last
    with time_machine.travel(t0, tick=False), django_capture_on_commit_callbacks(execute=True):
        intake_save(member=ana, data=SECRETS, answers={**calm_answers(), text_question: "Lonely-Answer-42"})
        seat_id = reserve(api_for(ana), group).json()["id"]
        seat = Reservation.objects.get(pk=seat_id)
        reservation_review_approve(reservation=seat, actor=group.therapist.user, note="ok")
        client = Client()
        client.force_login(ana)
        client.get(f"/reservations/{seat_id}/pay/")  # opens Stripe's Checkout (the fake)
    seat.refresh_from_db()
    calendar = reservation_calendar(reservation=seat, sessions=list(group.sessions.all())).decode()
    outgoing = [calendar, *(caplog.messages)]
    for message in mail.outbox:
        outgoing += [message.subject, message.body, *(str(a) for a in message.attachments)]
        outgoing += [body for body, _type in getattr(message, "alternatives", [])]
    outgoing += [r.raw for r in stripe_fake.requests]
    assert len(mail.outbox) >= 2 and stripe_fake.requests
    leaked = [(needle, text[:80]) for text in outgoing for needle in NEEDLES if needle in text]
    assert not leaked
