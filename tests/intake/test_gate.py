"""A therapy seat waits for the intake and the telehealth consent; every seat asks the age,
and someone outside a group's ages is told kindly where help for them is."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from enrollment.models import Reservation
from groups.models import Group
from intake.models import MemberIntake, ScreeningQuestion
from intake.services import IntakeData, intake_save
from tests.enrollment.test_api import api_for, reserve
from tests.factories import GroupFactory, intake_given, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def therapy():
    return GroupFactory(capacity=3, price=Decimal("150"), therapist=licensed_therapist("NY"))


def test_a_therapy_seat_without_intake_is_refused_saying_what_is_missing(therapy):
    api = api_for(member(intake=False))
    answer = reserve(api, therapy)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "intake_required"
    assert body["missing"] == ["birth_date", "contact", "emergency_contact", "address", "screening"]
    assert not Reservation.objects.exists()


def test_without_consent_it_is_refused_for_that_and_with_both_it_proceeds(therapy):
    ana = member(intake=False)
    intake_given(ana, consent=False)
    api = api_for(ana)
    answer = reserve(api, therapy)
    assert (answer.status_code, answer.json()["code"], answer.json()["version"]) == (
        400,
        "consent_required",
        1,
    )
    signed = api.post("/api/me/consent/", {"version": 1, "signed_name": "Ana Diaz"}, format="json")
    assert signed.status_code == 200 and signed.json()["signed_at"]
    assert reserve(api, therapy).status_code == 201


def test_too_young_is_refused_kindly_with_groups_for_them_and_988_on_the_api_and_the_page(therapy):
    teen_group = GroupFactory(
        kind=Group.Kind.SKILLS, price=Decimal("0"), min_age=13, max_age=17, title="Teen Skills"
    )
    GroupFactory(kind=Group.Kind.SKILLS, price=Decimal("0"), title="Adult Skills")  # not for a teen
    teen = member(intake=False)
    today = timezone.localdate()
    intake_given(teen, birth_date=today.replace(year=today.year - 15))
    answer = reserve(api_for(teen), therapy)
    assert answer.status_code == 403
    body = answer.json()
    assert body["code"] == "too_young"
    assert "988" in body["detail"]
    assert [a["title"] for a in body["alternatives"]] == ["Teen Skills"]
    client = Client()
    client.force_login(teen)
    page = client.get(f"/groups/{therapy.slug}/reserve/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "Teen Skills" in text and "988" in text and "Hold my seat" not in text
    # The teen group itself is open to them.
    assert reserve(api_for(teen), teen_group).status_code == 201


def test_a_skills_group_asks_only_the_age(skills):
    newcomer = member(intake=False, state="TX")
    api = api_for(newcomer)
    refused = reserve(api, skills)
    assert (refused.status_code, refused.json()["missing"]) == (400, ["birth_date"])
    saved = api.put("/api/me/intake/", {"birth_date": "1988-04-02"}, format="json")
    assert saved.status_code == 200, saved.content
    assert reserve(api, skills).status_code == 201
    assert MemberIntake.objects.get(member=newcomer).phone == ""


def test_an_intake_is_asked_again_when_stale_or_when_the_clinic_rewords_a_question(settings, therapy):
    ana = member()
    MemberIntake.objects.filter(member=ana).update(
        confirmed_at=timezone.now() - dt.timedelta(days=settings.INTAKE_FRESH_DAYS + 1)
    )
    api = api_for(ana)
    assert reserve(api, therapy).json()["missing"] == ["stale"]
    MemberIntake.objects.filter(member=ana).update(confirmed_at=timezone.now())
    ScreeningQuestion.objects.filter(position=10).update(changed_at=timezone.now() + dt.timedelta(seconds=1))
    assert reserve(api, therapy).json()["missing"] == ["screening"]


def test_the_reserve_page_leads_to_the_intake_then_the_consent_then_the_seat(therapy):
    ana = member(intake=False)
    client = Client()
    client.force_login(ana)
    # The date of birth alone first: nobody gives their contacts to be told the group is not for them.
    page = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert "/account/intake/?kind=skills&amp;next=/groups/" in page and "Hold my seat" not in page
    age_only = client.get("/account/intake/?kind=skills").content.decode()
    assert 'name="birth_date"' in age_only and 'name="phone"' not in age_only
    client.post(
        f"/account/intake/?kind=skills&next=/groups/{therapy.slug}/reserve/", {"birth_date": "1990-01-02"}
    )
    # Then the rest, on the full form (the date of birth kept).
    page = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert "/account/intake/?next=/groups/" in page
    assert 'value="1990-01-02"' in client.get("/account/intake/").content.decode()
    intake_given(ana, consent=False)
    page = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert "/account/consent/?next=/groups/" in page and "Hold my seat" not in page
    consent = client.post(
        f"/account/consent/?next=/groups/{therapy.slug}/reserve/",
        {"signed_name": "Ana Diaz", "version": 1, "agree": "on"},
    )
    assert consent.status_code == 302 and consent["Location"] == f"/groups/{therapy.slug}/reserve/"
    assert "Hold my seat and pay" in client.get(f"/groups/{therapy.slug}/reserve/").content.decode()


def test_the_intake_form_keeps_phones_in_e164_and_refuses_a_bad_one_with_a_clear_reason():
    ana = member(intake=False)
    client = Client()
    client.force_login(ana)
    questions = {
        f"q_{q.pk}": (
            "yes" if q.kind == "yes_no" else q.choices.splitlines()[0] if q.kind == "choice" else ""
        )
        for q in ScreeningQuestion.objects.filter(active=True)
    }
    form = {
        "birth_date": "1990-02-03",
        "phone": "(212) 555-0142",
        "emergency_name": "Luz",
        "emergency_relationship": "Mother",
        "emergency_phone": "12345",
        "address_line": "5 Elm St",
        "address_city": "Albany",
        "address_state": "NY",
        "address_postal_code": "12207",
        **questions,
    }
    bad = client.post("/account/intake/", form)
    assert bad.status_code == 400 and "Enter a phone number we can call" in bad.content.decode()
    assert not MemberIntake.objects.filter(member=ana).exists()
    good = client.post("/account/intake/", {**form, "emergency_phone": "+44 20 7946 0958"})
    assert good.status_code == 302
    kept = MemberIntake.objects.get(member=ana)
    assert (kept.phone, kept.emergency_phone) == ("+12125550142", "+442079460958")
    # The member sees and corrects their own.
    assert "(212) 555-0142" in client.get("/account/intake/").content.decode()


def test_a_birth_date_in_the_future_is_refused():
    api = api_for(member(intake=False))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    answer = api.put("/api/me/intake/", {"birth_date": tomorrow.isoformat()}, format="json")
    assert answer.status_code == 400 and "birth_date" in answer.json()["errors"]


def test_an_intake_saved_twice_keeps_one_row_and_audits_field_names_never_values():
    from grouport.models import AuditEntry

    ana = member()
    intake = MemberIntake.objects.get(member=ana)
    intake_save(
        member=ana,
        data=IntakeData(
            **{
                **{f: getattr(intake, f) for f in ("birth_date", *intake.THERAPY_FIELDS)},
                "phone": "+12125550199",
            }
        ),
    )
    assert MemberIntake.objects.filter(member=ana).count() == 1
    entry = AuditEntry.objects.filter(action="intake.saved").order_by("-pk").first()
    assert entry.data["changed"] == ["phone"]
    assert "555" not in str(entry.data)


def test_too_young_with_no_group_for_their_age_is_not_pointed_at_an_empty_list(therapy):
    teen = member(intake=False)
    today = timezone.localdate()
    intake_given(teen, birth_date=today.replace(year=today.year - 16))
    body = reserve(api_for(teen), therapy).json()
    assert body["code"] == "too_young" and body["alternatives"] == []
    assert "below" not in body["detail"] and "988" in body["detail"]


def test_a_reserve_form_sent_without_intake_or_consent_leads_there_and_back(therapy):
    from enrollment.models import WaitlistEntry
    from enrollment.services.reservations import reservation_cancel
    from tests.factories import ATTEST_FORM

    ana = member(intake=False)
    client = Client()
    client.force_login(ana)
    url = f"/groups/{therapy.slug}/reserve/"
    sent = client.post(url, ATTEST_FORM)
    assert sent.status_code == 302 and sent["Location"] == f"/account/intake/?kind=skills&next={url}"
    intake_given(ana, consent=False)
    sent = client.post(url, ATTEST_FORM)
    assert sent["Location"] == f"/account/consent/?next={url}"
    assert not Reservation.objects.filter(member=ana).exists()
    # A waitlist offer accepted without the consent: the same way, and the offer stays open.
    full = GroupFactory(capacity=1, price=Decimal("0"), therapist=therapy.therapist)
    holder = member()
    seat = reserve(api_for(holder), full).json()["id"]
    entry = WaitlistEntry.objects.create(member=ana, group=full)
    reservation_cancel(reservation=Reservation.objects.get(pk=seat), actor=holder)  # offered to Ana
    entry.refresh_from_db()
    accept = f"/waitlist/{entry.pk}/accept/"
    sent = client.post(accept, ATTEST_FORM)
    assert sent["Location"] == f"/account/consent/?next={accept}"
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_a_waitlist_seat_is_not_offered_or_held_for_someone_the_group_is_not_meant_for(therapy):
    from enrollment.models import WaitlistEntry
    from enrollment.services.reservations import reservation_cancel
    from tests.factories import ATTEST_FORM

    full = GroupFactory(capacity=1, price=Decimal("0"), therapist=therapy.therapist)
    holder, teen, other_teen, next_in_line = member(), member(intake=False), member(intake=False), member()
    today = timezone.localdate()
    intake_given(teen, birth_date=today.replace(year=today.year - 16))
    seat = reserve(api_for(holder), full).json()["id"]
    known = WaitlistEntry.objects.create(member=teen, group=full)  # age known: passed over
    unknown = WaitlistEntry.objects.create(member=other_teen, group=full)  # age not given yet
    theirs = WaitlistEntry.objects.create(member=next_in_line, group=full)
    reservation_cancel(reservation=Reservation.objects.get(pk=seat), actor=holder)
    known.refresh_from_db()
    unknown.refresh_from_db()
    assert (known.status, unknown.status) == ("waiting", "offered")
    # The second gives a date of birth that the group is not meant for: the offer goes on at once.
    intake_given(other_teen, birth_date=today.replace(year=today.year - 15))
    client = Client()
    client.force_login(other_teen)
    refused = client.post(f"/waitlist/{unknown.pk}/accept/", ATTEST_FORM)
    assert refused.status_code == 403 and "988" in refused.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == WaitlistEntry.Status.OFFERED
