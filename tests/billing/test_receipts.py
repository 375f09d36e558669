"""Receipts for every payment and refund: a page and a PDF, field by field against a fixture
computed by hand, in the member's language, with the clinic's legal name, address and tax id,
and nothing clinical. Only the member opens theirs; anyone else's is a 404."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from pypdf import PdfReader

from billing.models import Payment
from billing.services import refund_issue, stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.services.reservations import reservation_hold
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PAID_AT = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)
CLINICAL = ("DBT", "dialectical", "therapy", "therapist", "depress", "anxiety", "diagnos", "Mindful Mondays")


@pytest.fixture(autouse=True)
def clinic(settings):
    settings.CLINIC_LEGAL_NAME = "Harbor Light Counseling, PLLC"
    settings.CLINIC_ADDRESS = "200 Water St, Suite 4|New York, NY 10038"
    settings.CLINIC_TAX_ID = "47-1234567"


@pytest.fixture
def paid(stripe_fake, settings, django_capture_on_commit_callbacks):
    """Ana Reyes pays $320.00 for an 8-week group from March 3, 2026, on February 10."""
    with time_machine.travel(PAID_AT, tick=False):
        group = GroupFactory(
            title="Mindful Mondays DBT therapy group", price=Decimal("320.00"),
            therapist=licensed_therapist("NY"), starts_on=dt.date(2026, 3, 3), weekday=1, weeks=8,
        )  # fmt: skip
        ana = member(first_name="Ana", last_name="Reyes")
        reservation = reservation_hold(member=ana, group=group, attestations=ALL_TRUE)
        payment = stripe_checkout_start(reservation=reservation)
        session = stripe_fake.pay(payment.checkout_session_id)
        with django_capture_on_commit_callbacks(execute=True):
            stripe_event_process(event=stripe_fake.event("checkout.session.completed", session))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    return payment


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(page) -> str:
    body = page.content.decode()
    body = body[body.index("<main") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def test_a_payment_receipt_page_and_pdf_say_exactly_what_was_paid(paid):
    client = signed_in(paid.reservation.member)
    page = client.get(f"/my/receipts/payment/{paid.pk}/")
    assert page.status_code == 200
    text = text_of(page)
    number = f"P-{paid.pk:06d}"
    expected = [
        "Harbor Light Counseling, PLLC",
        "200 Water St, Suite 4",
        "New York, NY 10038",
        "Tax ID: 47-1234567",
        f"Receipt {number}",
        "Date February 10, 2026",
        "Received from Ana Reyes",
        "For Group program, 8 sessions, from March 3, 2026",
        "Amount paid $320.00 USD",
        "Paid by Card",
    ]
    for words in expected:
        assert words in text, words
    pdf = client.get(f"/my/receipts/payment/{paid.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert f'filename="receipt-{number}.pdf"' in pdf["Content-Disposition"]
    in_pdf = pdf_text(pdf.content)
    for words in expected:
        assert words in in_pdf, words
    receipt_part = text.split("Need help now?")[0].lower()
    for word in CLINICAL:
        assert word.lower() not in receipt_part and word.lower() not in in_pdf.lower(), word
    assert paid.reservation.member.email not in in_pdf


def test_a_refund_has_its_own_receipt_naming_the_payment_and_the_email_links_it(
    paid, stripe_fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue(payment=paid, amount=Decimal("120.00"), reason="requested", key="r-1")
    client = signed_in(paid.reservation.member)
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    text = text_of(client.get(f"/my/receipts/refund/{refund.pk}/"))
    for words in (
        f"Refund receipt R-{refund.pk:06d}",
        "Refunded to Ana Reyes",
        "Amount refunded $120.00 USD",
        f"Refund of receipt P-{paid.pk:06d}",
    ):
        assert words in text, words
    assert "Refunded since $120.00 USD" in text_of(client.get(f"/my/receipts/payment/{paid.pk}/"))
    listing = text_of(client.get("/my/receipts/"))
    assert f"P-{paid.pk:06d}" in listing and f"R-{refund.pk:06d}" in listing
    [email] = [m for m in mail.outbox if m.subject.startswith("Refund")]
    assert f"/my/receipts/refund/{refund.pk}/" in email.body
    assert "Receipts" in signed_in(paid.reservation.member).get("/my/").content.decode()


def test_another_member_gets_404_for_every_receipt_and_its_pdf(paid):
    other = signed_in(member())
    for path in (
        f"/my/receipts/payment/{paid.pk}/",
        f"/my/receipts/payment/{paid.pk}.pdf",
        f"/my/receipts/refund/{paid.pk}/",
        f"/my/receipts/nothing/{paid.pk}/",
    ):
        assert other.get(path).status_code == 404, path
    assert f"P-{paid.pk:06d}" not in other.get("/my/receipts/").content.decode()
    assert Client().get(f"/my/receipts/payment/{paid.pk}/").status_code == 302  # sign in first


def test_no_receipt_before_the_money_moves(stripe_fake):
    group = GroupFactory(price=Decimal("200.00"), therapist=licensed_therapist("NY"))
    ana = member()
    seat = reservation_hold(member=ana, group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=seat)
    assert signed_in(ana).get(f"/my/receipts/payment/{payment.pk}/").status_code == 404


def test_receipts_in_spanish(paid):
    client = signed_in(paid.reservation.member)
    text = text_of(client.get(f"/my/receipts/payment/{paid.pk}/", HTTP_ACCEPT_LANGUAGE="es"))
    assert "Recibo P-" in text and "Programa grupal, 8 sesiones, desde el 3 de marzo de 2026" in text
    pdf = pdf_text(client.get(f"/my/receipts/payment/{paid.pk}.pdf", HTTP_ACCEPT_LANGUAGE="es").content)
    assert "Programa grupal, 8 sesiones" in pdf and "Importe pagado $320.00 USD" in pdf


def test_the_confirmation_email_links_the_receipts(paid):
    [email] = [m for m in mail.outbox if "confirmed" in m.subject.lower()]
    assert "/my/receipts/" in email.body
