"""Superbills on request: the member asks; the group's therapist gives the ICD-10 code once
(shape checked, audited); the superbill lists the sessions attended, from the attendance
sheet, with CPT 90853-95, place of service, the fee per session and what was paid, checked
field by field against a fixture computed by hand, and drawn again when attendance changes.
Only the member, the group's therapist and staff open it."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from pypdf import PdfReader

from attendance.models import Attendance, CheckIn
from attendance.services.attendance import attendance_mark
from billing.services import offline_payment_complete, refund_issue
from care.models import SuperbillRequest
from enrollment.services.reservations import reservation_hold
from grouport.models import AuditEntry
from grouport.roles import THERAPIST, role_grant
from groups.models import License, npi_valid
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, sign_in, staff

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture(autouse=True)
def offline(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.CLINIC_LEGAL_NAME = "Harbor Light Counseling, PLLC"
    settings.CLINIC_ADDRESS = "200 Water St, Suite 4|New York, NY 10038"
    settings.CLINIC_TAX_ID = "47-1234567"


@pytest.fixture
def world():
    """Ana Reyes paid $320.00 for an 8-week therapy group on Tuesdays at 7 PM (New York) from
    March 3, 2026, led by Dana Cole, LCSW (NPI 1234567893, NY license 012345). She attended
    weeks 1 (checked in at home), 2 (checked in elsewhere) and 4 (marked present by the
    therapist); week 3 she missed."""
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tick=False):
        therapist = licensed_therapist()
        therapist.display_name, therapist.credentials, therapist.npi = "Dana Cole", "LCSW", "1234567893"
        therapist.save()
        License.objects.create(
            therapist=therapist, state="NY", number="012345", expires_on=dt.date(2028, 1, 1)
        )
        group = GroupFactory(
            therapist=therapist, price=Decimal("320.00"), starts_on=dt.date(2026, 3, 3), weekday=1,
            start_time=dt.time(19, 0), weeks=8, time_zone="America/New_York",
        )  # fmt: skip
        ana = member(first_name="Ana", last_name="Reyes")
        seat = reservation_hold(member=ana, group=group, attestations=ALL_TRUE)
        offline_payment_complete(reservation=seat, member=ana)
    sessions = {s.number: s for s in group.sessions.all()}
    for week, home in ((1, True), (2, False)):
        CheckIn.objects.create(
            session=sessions[week], reservation=seat, state="NY", admitted=True, at_usual_address=home,
            location="" if home else "A friend's flat, Queens",
        )  # fmt: skip
        Attendance.objects.create(
            session=sessions[week], reservation=seat, status="present", source="check_in"
        )
    Attendance.objects.create(session=sessions[3], reservation=seat, status="absent")
    Attendance.objects.create(session=sessions[4], reservation=seat, status="present")
    seat.refresh_from_db()
    return {"group": group, "seat": seat, "ana": ana, "therapist": therapist, "sessions": sessions}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def therapist_desk(world) -> Client:
    desk = Client()
    role_grant(world["therapist"].user, THERAPIST)
    sign_in(desk, world["therapist"].user)
    return desk


def asked_and_diagnosed(world, django_capture_on_commit_callbacks, code="f43.10") -> SuperbillRequest:
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(world["ana"]).post(f"/my/superbills/{world['seat'].pk}/")
    request = SuperbillRequest.objects.get(reservation=world["seat"])
    desk = therapist_desk(world)
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(
            f"/admin/care/superbillrequest/{request.pk}/change/", {"diagnosis_code": code, "_save": "Save"}
        )
    request.refresh_from_db()
    return request


def text(page) -> str:
    import re

    body = page.content.decode()
    body = body[body.index("<main") : body.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


EXPECTED = [
    "Superbill SB-",
    "Harbor Light Counseling, PLLC",
    "200 Water St, Suite 4",
    "Tax ID: 47-1234567",
    "Provider Dana Cole, LCSW",
    "NPI 1234567893",
    "License NY 012345",
    "Patient Ana Reyes",
    "Date of birth June 15, 1990",
    "Address 1 Main St",
    "Diagnosis (ICD-10-CM) A. F43.10",
    # weeks 1, 2 and 4; $320.00 over 8 weeks is $40.00 a session, all paid
    "March 3, 2026 90853 95 10 A $40.00 $40.00",
    "March 10, 2026 90853 95 02 A $40.00 $40.00",
    "March 24, 2026 90853 95 02 A $40.00 $40.00",
    "Total $120.00 $120.00",
]


def test_asked_diagnosed_once_and_drawn_from_the_attendance_sheet(world, django_capture_on_commit_callbacks):
    client = signed_in(world["ana"])
    first = text(client.get(f"/my/superbills/{world['seat'].pk}/"))
    assert "Ask for a superbill" in first
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/my/superbills/{world['seat'].pk}/")
    assert "Your therapist is preparing it" in text(client.get(f"/my/superbills/{world['seat'].pk}/"))
    [to_therapist] = [m for m in mail.outbox if world["therapist"].user.email in m.to]
    assert (
        "Reyes" not in to_therapist.subject + to_therapist.body
        and "/admin/care/superbillrequest/" in to_therapist.body
    )
    request = SuperbillRequest.objects.get(reservation=world["seat"])
    desk = therapist_desk(world)
    bad = desk.post(f"/admin/care/superbillrequest/{request.pk}/change/", {"diagnosis_code": "XYZ"})
    assert bad.status_code == 200 and "Not an ICD-10-CM code" in bad.content.decode()  # shown, with why
    request = asked_and_diagnosed(world, django_capture_on_commit_callbacks)
    assert request.diagnosis_code == "F43.10" and request.diagnosis_by == world["therapist"].user
    assert (
        AuditEntry.objects.filter(action="superbill.diagnosis_given", actor=world["therapist"].user).count()
        == 1
    )
    # Given once: the field is read-only now.
    desk.post(
        f"/admin/care/superbillrequest/{request.pk}/change/", {"diagnosis_code": "F60.3", "_save": "Save"}
    )
    request.refresh_from_db()
    assert request.diagnosis_code == "F43.10"
    [ready] = [m for m in mail.outbox if m.to == [world["ana"].email] and "superbill" in m.subject.lower()]
    assert f"/my/superbills/{world['seat'].pk}/" in ready.body
    page = text(client.get(f"/my/superbills/{world['seat'].pk}/"))
    for words in EXPECTED:
        assert words in page, words
    assert "March 17, 2026" not in page  # week 3: missed
    pdf = client.get(f"/my/superbills/{world['seat'].pk}.pdf")
    in_pdf = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for words in EXPECTED:
        assert words.replace(" 90853", "").replace("A $", "$") in in_pdf.replace(" 90853", "").replace(
            "A $", "$"
        ), words
    # The therapist corrects week 3 to present: the next superbill has it. A refund of $80.00
    # leaves $240.00 paid: $30.00 a session.
    attendance_mark(
        session=world["sessions"][3], marks={world["seat"].pk: "present"}, actor=world["therapist"].user
    )
    refund_issue(payment=world["seat"].payments.get(), amount=Decimal("80.00"), key="sb", reason="staff")
    again = text(client.get(f"/my/superbills/{world['seat'].pk}/"))
    assert "March 17, 2026 90853 95 02 A $40.00 $30.00" in again and "Total $160.00 $120.00" in again


def test_only_the_member_the_groups_therapist_and_staff_open_it(world, django_capture_on_commit_callbacks):
    request = asked_and_diagnosed(world, django_capture_on_commit_callbacks)
    other = signed_in(member())
    assert other.get(f"/my/superbills/{world['seat'].pk}/").status_code == 404
    assert other.get(f"/my/superbills/{world['seat'].pk}.pdf").status_code == 404
    outsider = licensed_therapist("NY").user
    role_grant(outsider, THERAPIST)
    desk = Client()
    sign_in(desk, outsider)
    assert desk.get(f"/admin/care/superbillrequest/{request.pk}/superbill/").status_code == 404
    assert (
        therapist_desk(world).get(f"/admin/care/superbillrequest/{request.pk}/superbill/").status_code == 200
    )
    office = Client()
    sign_in(office, staff())
    assert "Ana Reyes" in office.get(f"/admin/care/superbillrequest/{request.pk}/superbill/").content.decode()
    assert AuditEntry.objects.filter(action="superbill.viewed").count() == 2


def test_a_skills_group_has_no_superbill(world):
    skills = GroupFactory(kind="skills", price=Decimal("0"), therapist=licensed_therapist("NY"))
    seat = reservation_hold(member=world["ana"], group=skills, attestations=ALL_TRUE)
    assert signed_in(world["ana"]).get(f"/my/superbills/{seat.pk}/").status_code == 404


def test_npi_check_digit():
    assert npi_valid("1234567893")  # CMS's own example
    assert not npi_valid("1234567890") and not npi_valid("123456789") and not npi_valid("12345678a3")
