"""Reduced fees, financial assistance and promotion codes: what the member chooses is what
Stripe's Checkout asks for (and the offline stand-in takes), and the revenue report shows
list price, discounts and money received apart. Codes are checked on the server: unknown,
expired and used-up ones are refused plainly; two members racing for the last use, one gets it."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from billing.models import AssistanceRequest, FeeTier, Payment, PriceChoice, PromoCode
from billing.pricing import price_of, promo_apply
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_hold
from grouport.exceptions import InvalidInput
from grouport.models import AuditEntry
from reports.reports import ReportFilters, report_revenue
from tests.factories import ALL_TRUE, GroupFactory, UserFactory, licensed_therapist, member, sign_in

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def group():
    group = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    FeeTier.objects.create(group=group, kind=FeeTier.Kind.REDUCED, price=Decimal("200.00"), self_select=True)
    FeeTier.objects.create(group=group, kind=FeeTier.Kind.ASSISTED, price=Decimal("60.00"), self_select=False)
    return group


def held(group, who=None):
    who = who or member()
    return reservation_hold(member=who, group=group, attestations=ALL_TRUE)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def price_post(client, r, **data):
    return client.post(f"/reservations/{r.pk}/price/", data)


def checkout_amounts(stripe_fake) -> list[int]:
    """The amount of every Checkout page asked of Stripe, in order (one per attempt's key)."""
    amounts, keys = [], set()
    for q in stripe_fake.requests:
        if q.path == "/v1/checkout/sessions" and q.method == "POST" and q.idempotency_key not in keys:
            keys.add(q.idempotency_key)
            items = q.body["line_items"]
            item = items["0"] if isinstance(items, dict) else items[0]
            amounts.append(int(item["price_data"]["unit_amount"]))
    return amounts


def pay(stripe_fake, payment):
    session = stripe_fake.pay(payment.checkout_session_id)
    stripe_event_process(event=stripe_fake.event("checkout.session.completed", session))


@pytest.mark.sqlite
def test_the_reduced_fee_needs_the_members_word_and_is_what_checkout_charges(stripe_fake, group):
    r = held(group)
    client = signed_in(r.member)
    page = client.get(f"/reservations/{r.pk}/pay/")
    assert page.status_code == 200  # a group with a reduced fee asks first, before Stripe
    text = page.content.decode()
    assert "Reduced fee: $200.00" in text and "Financial assistance: $60.00" not in text  # staff give that
    refused = price_post(client, r, action="tier", tier="reduced")
    assert refused.status_code == 400 and "Tick the box" in refused.content.decode()
    assert price_post(client, r, action="tier", tier="assisted", attest="yes").status_code == 400
    assert price_post(client, r, action="tier", tier="reduced", attest="yes").status_code == 302
    assert "To pay" in client.get(f"/reservations/{r.pk}/pay/").content.decode()
    go = client.get(f"/reservations/{r.pk}/pay/?go=1")
    assert go.status_code == 302 and go.url.startswith(stripe_fake.url)
    assert checkout_amounts(stripe_fake) == [20000]
    payment = Payment.objects.get(reservation=r)
    assert (payment.amount, payment.list_amount, payment.discount) == (
        Decimal("200.00"), Decimal("320.00"), Decimal("120.00")
    )  # fmt: skip
    choice = PriceChoice.objects.get(reservation=r)
    assert choice.tier.kind == "reduced" and choice.tier_attested_at is not None
    pay(stripe_fake, payment)
    today = timezone.localdate()
    revenue = report_revenue(
        ReportFilters(date_from=today - dt.timedelta(days=1), date_to=today + dt.timedelta(days=1))
    )
    columns = dict(zip(revenue.columns, revenue.rows[0], strict=True))
    assert (columns["paid"], columns["list price"], columns["discounts"]) == (
        Decimal("200.00"), Decimal("320.00"), Decimal("120.00")
    )  # fmt: skip


@pytest.mark.sqlite
def test_a_code_reaches_stripe_and_a_changed_choice_replaces_the_open_checkout(stripe_fake, group):
    PromoCode.objects.create(code="SPRING25", percent_off=25)
    PromoCode.objects.create(code="TAKE50", amount_off=Decimal("50.00"))
    r = held(group)
    client = signed_in(r.member)
    assert price_post(client, r, action="code", code=" spring25 ").status_code == 302  # any case, spaces
    client.get(f"/reservations/{r.pk}/pay/?go=1")
    first = Payment.objects.get(reservation=r)
    assert first.amount == Decimal("240.00") and first.discount == Decimal("80.00")
    # She chooses the reduced fee after the page opened: a new page for the new price.
    price_post(client, r, action="tier", tier="reduced", attest="yes")
    client.get(f"/reservations/{r.pk}/pay/?go=1")
    assert checkout_amounts(stripe_fake) == [24000, 15000]  # 25% off 200.00
    first.refresh_from_db()
    assert first.status == Payment.Status.FAILED  # replaced (and its page expired)
    price_post(client, r, action="remove_code")
    price_post(client, r, action="code", code="TAKE50")
    client.get(f"/reservations/{r.pk}/pay/?go=1")
    assert checkout_amounts(stripe_fake)[-1] == 15000  # 200.00 - 50.00
    paying = Payment.objects.filter(reservation=r, status=Payment.Status.PENDING).get()
    pay(stripe_fake, paying)
    assert Reservation.objects.get(pk=r.pk).status == Reservation.Status.CONFIRMED
    # Paid: the price is fixed now.
    late = price_post(client, r, action="tier", tier="full")
    assert late.status_code in (302, 409)
    assert PriceChoice.objects.get(reservation=r).due == Decimal("150.00")


@pytest.mark.sqlite
def test_unknown_expired_and_used_up_codes_are_refused_plainly_and_change_nothing(stripe_fake, group):
    now = timezone.now()
    PromoCode.objects.create(code="OLD", percent_off=10, expires_at=now - dt.timedelta(minutes=1))
    PromoCode.objects.create(code="ONCE", percent_off=10, max_uses=1)
    PromoCode.objects.create(code="OFF", percent_off=10, active=False)
    first, second = held(group), held(group)
    for code, words in (("NOPE", "not one we know"), ("OLD", "has expired"), ("OFF", "not one we know")):
        answer = price_post(signed_in(first.member), first, action="code", code=code)
        assert answer.status_code == 400 and words in answer.content.decode(), code
    assert price_post(signed_in(first.member), first, action="code", code="ONCE").status_code == 302
    used_up = price_post(signed_in(second.member), second, action="code", code="ONCE")
    assert used_up.status_code == 400 and "used up" in used_up.content.decode()
    assert not PriceChoice.objects.filter(reservation=second, promo__isnull=False).exists()
    # The first member's hold lapses unpaid: the use comes back.
    Reservation.objects.filter(pk=first.pk).update(status=Reservation.Status.EXPIRED)
    assert price_post(signed_in(second.member), second, action="code", code="ONCE").status_code == 302


@pytest.mark.sqlite
def test_a_code_never_takes_the_price_below_stripes_least_charge(group):
    promo = PromoCode(code="ALL", percent_off=100)
    assert price_of(group=group, promo=promo).due == Decimal("0.50")
    assert price_of(group=group, promo=PromoCode(code="X", amount_off=Decimal("999"))).due == Decimal("0.50")
    thirds = PromoCode(code="T", percent_off=33)
    assert price_of(group=group, promo=thirds).due == Decimal("214.40")  # 105.60 off, to the cent


@pytest.mark.sqlite
def test_the_offline_stand_in_takes_the_price_due(settings, group):
    settings.STRIPE_SECRET_KEY = ""
    r = held(group)
    client = signed_in(r.member)
    price_post(client, r, action="tier", tier="reduced", attest="yes")
    assert "Pay $200.00 (test mode)" in client.get(f"/reservations/{r.pk}/pay/").content.decode()
    client.post(f"/reservations/{r.pk}/pay/")
    payment = Payment.objects.get(reservation=r)
    assert payment.status == Payment.Status.PAID and payment.amount == Decimal("200.00")


@pytest.mark.sqlite
def test_financial_assistance_is_asked_for_granted_by_staff_audited_and_then_chosen(
    stripe_fake, group, django_capture_on_commit_callbacks
):
    r = held(group)
    client = signed_in(r.member)
    bad = client.post(f"/reservations/{r.pk}/assistance/", {"household_size": "0", "income": "under_25k"})
    assert bad.status_code == 400
    sent = client.post(f"/reservations/{r.pk}/assistance/", {"household_size": "3", "income": "under_25k"})
    assert sent.status_code == 302
    request = AssistanceRequest.objects.get(member=r.member, group=group)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    sign_in(admin, staff)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            "/admin/billing/assistancerequest/",
            {"action": "grant", "_selected_action": [request.pk]},
        )
    request.refresh_from_db()
    assert request.status == AssistanceRequest.Status.GRANTED and request.decided_by == staff
    assert AuditEntry.objects.filter(action="assistancerequest.granted", actor=staff).exists()
    [answer] = [m for m in mail.outbox if m.to == [r.member.email]]
    assert "granted" in answer.body and "$" not in answer.subject and "income" not in answer.body.lower()
    page = client.get(f"/reservations/{r.pk}/pay/").content.decode()
    assert "Financial assistance: $60.00" in page
    assert price_post(client, r, action="tier", tier="assisted").status_code == 302  # no attestation needed
    client.get(f"/reservations/{r.pk}/pay/?go=1")
    assert checkout_amounts(stripe_fake) == [6000]
    # A second decision changes nothing.
    admin.post("/admin/billing/assistancerequest/", {"action": "decline", "_selected_action": [request.pk]})
    request.refresh_from_db()
    assert request.status == AssistanceRequest.Status.GRANTED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_members_racing_for_a_codes_last_use_one_gets_it():
    group = GroupFactory(price=Decimal("100.00"), therapist=licensed_therapist("NY"))
    PromoCode.objects.create(code="LAST", amount_off=Decimal("10.00"), max_uses=1)
    seats = [held(group), held(group)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply(r):
        try:
            barrier.wait()
            promo_apply(reservation=r, member=r.member, code="LAST")
            outcomes.append("got it")
        except InvalidInput as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(r,)) for r in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["got it", "promo_used_up"]
    assert PriceChoice.objects.filter(promo__code="LAST").count() == 1


@pytest.mark.sqlite
def test_the_price_cannot_change_once_the_hold_is_over(group):
    r = held(group)
    Reservation.objects.filter(pk=r.pk).update(status=Reservation.Status.EXPIRED)
    with time_machine.travel(timezone.now(), tick=False):
        answer = price_post(signed_in(r.member), r, action="tier", tier="reduced", attest="yes")
    assert answer.status_code in (302, 409) and not PriceChoice.objects.filter(reservation=r).exists()


@pytest.mark.sqlite
def test_the_api_chooses_the_fee_and_the_code_by_the_same_rules(stripe_fake, group):
    from rest_framework.test import APIClient

    PromoCode.objects.create(code="SPRING25", percent_off=25)
    r = held(group)
    api = APIClient()
    api.force_authenticate(r.member)
    url = f"/api/reservations/{r.pk}/price/"
    shown = api.get(url).json()
    assert shown["due"] == "320.00" and [t["kind"] for t in shown["tiers"]] == ["full", "reduced"]
    refused = api.put(url, {"tier": "reduced"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "attestation_required"
    chosen = api.put(url, {"tier": "reduced", "attest": True, "code": "spring25"}, format="json").json()
    assert (chosen["tier"], chosen["code"], chosen["due"], chosen["discount"]) == (
        "reduced",
        "SPRING25",
        "150.00",
        "170.00",
    )
    assert api.put(url, {"code": "NOPE"}, format="json").json()["code"] == "promo_unknown"
    assert api.put(url, {"code": ""}, format="json").json()["due"] == "200.00"
    assert APIClient().get(url).status_code in (401, 403)
    other = APIClient()
    other.force_authenticate(member())
    assert other.get(url).status_code == 404


@pytest.mark.sqlite
def test_each_refusal_says_why_and_changes_nothing(group, settings):
    from billing.pricing import assistance_decide, assistance_request, price_choose, promo_apply
    from grouport.exceptions import Conflict

    settings.STRIPE_SECRET_KEY = ""
    r = held(group)
    someone = member()
    cases = [
        (lambda: price_choose(reservation=r, member=someone, tier="full", attested=False), "not_yours"),
        (lambda: promo_apply(reservation=r, member=r.member, code="   "), "promo_missing"),
        (lambda: assistance_request(member=r.member, group=group, household_size=2, income="rich"), "income"),
        (
            lambda: assistance_request(member=r.member, group=group, household_size=21, income="under_25k"),
            "household_size",
        ),
    ]
    bare = GroupFactory(price=Decimal("90.00"), therapist=licensed_therapist("NY"))
    cases.append(
        (
            lambda: assistance_request(member=r.member, group=bare, household_size=2, income="under_25k"),
            "no_assistance",
        )
    )
    for call, code in cases:
        with pytest.raises((InvalidInput, Conflict)) as refused:
            call()
        assert refused.value.code == code
    # Asking again while it waits updates it; once decided, it is answered.
    first = assistance_request(member=r.member, group=group, household_size=2, income="under_25k")
    again = assistance_request(member=r.member, group=group, household_size=3, income="under_50k")
    assert first.pk == again.pk and again.household_size == 3
    assistance_decide(request=again, grant=False, actor=UserFactory(is_staff=True))
    with pytest.raises(Conflict) as decided:
        assistance_decide(request=again, grant=True, actor=UserFactory(is_staff=True))
    assert decided.value.code == "assistance_decided"
    with pytest.raises(Conflict):
        assistance_request(member=r.member, group=group, household_size=2, income="under_25k")
    # Back to the full fee after choosing the reduced one; then paid: nothing changes.
    price_choose(reservation=r, member=r.member, tier="reduced", attested=True)
    assert price_choose(reservation=r, member=r.member, tier="full", attested=False).due == Decimal("320.00")
    Payment.objects.create(reservation=r, provider="offline", status="processing", amount=Decimal("320.00"))
    with pytest.raises(Conflict) as busy:
        price_choose(reservation=r, member=r.member, tier="reduced", attested=True)
    assert busy.value.code == "payment_under_way"


@pytest.mark.sqlite
def test_a_page_opened_with_a_code_is_closed_when_the_code_is_removed_and_still_counts_while_open(
    stripe_fake, group
):
    """From a cold review: apply a one-use code, open Checkout, remove the code: the discounted
    page must not stay payable (it is closed), and while a page with the code is open the
    code's use is taken."""
    from billing.pricing import promo_uses

    once = PromoCode.objects.create(code="ONCE", amount_off=Decimal("20.00"), max_uses=1)
    r = held(group)
    client = signed_in(r.member)
    price_post(client, r, action="code", code="ONCE")
    client.get(f"/reservations/{r.pk}/pay/?go=1")
    opened = Payment.objects.get(reservation=r)
    assert opened.promo == once and promo_uses(once) == 1
    price_post(client, r, action="remove_code")
    opened.refresh_from_db()
    assert opened.status == Payment.Status.FAILED  # replaced: its page is expired at Stripe
    assert promo_uses(once) == 0
