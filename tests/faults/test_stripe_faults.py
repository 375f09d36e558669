"""Stripe misbehaves while a member goes to pay: a 500 (which Stripe keeps for the key), answers
lost on the way back, and a Stripe that stalls for 45 seconds.

gunicorn (one worker of four threads, as config/gunicorn.conf.py runs each) and a worker
run with ``STRIPE_API_BASE`` pointing at the fake Stripe (tests/fake_stripe.py) and the
product's default Stripe timeouts. Each time the member's pay page answers the site's own
503 page (the crisis line, "Try again") well before gunicorn's 30 s timeout; "Try again"
then opens the checkout page once Stripe behaves, and there is never more than one open page
for the reservation. While one payment stalls, the catalog keeps answering.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.gateway import stripe_worst_case_seconds
from billing.models import Payment
from enrollment.models import Reservation
from tests import fake_stripe
from tests.factories import GroupFactory, licensed_therapist
from tests.faults.harness import (
    Answer,
    LatencyProbe,
    Mailbox,
    RedisServer,
    Services,
    app_env,
    celery_publishing_to,
    check_invariants,
    database_url_for_this_test,
    report,
    settle_outbox,
    wait_until,
    web_member,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GUNICORN_TIMEOUT = 30


class Stack:
    def __init__(self, fake, web, worker, redis, mailbox) -> None:
        self.fake, self.web, self.worker, self.redis, self.mailbox = fake, web, worker, redis, mailbox


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory, django_db_setup):
    """One web server, worker, broker and fake Stripe for the module (each test resets the
    fake's faults and makes rows of its own)."""
    directory = tmp_path_factory.mktemp("stripe-faults")
    fake, server = fake_stripe.start()
    redis = RedisServer()
    services = Services(directory)
    try:
        redis.start()
        mailbox = Mailbox(directory / "mail")
        env = app_env(
            database_url=database_url_for_this_test(),
            redis_url=redis.url,
            mailbox=mailbox,
            STRIPE_SECRET_KEY="sk_test_x",
            STRIPE_API_BASE=fake.url,
            STRIPE_WEBHOOK_SECRET=fake_stripe.WEBHOOK_SECRET,
        )
        web = services.gunicorn(env, workers=1, threads=4)
        fake.webhook_url = f"{web.url}/billing/stripe/webhook/"
        worker = services.worker(env, concurrency=1)
        yield Stack(fake, web, worker, redis, mailbox)
    except BaseException:
        for service in services.started:
            print(f"\n----- {service.name} -----\n{service.tail(80)}")
        raise
    finally:
        services.close()
        redis.close()
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake(request, stack):
    stack.redis.clear_cache()
    stack.fake.fail_next, stack.fake.lose_next = [], 0
    stack.fake.stall_seconds, stack.fake.stall_next = 0.0, 0
    yield stack.fake
    stack.fake.fail_next, stack.fake.lose_next, stack.fake.stall_next = [], 0, 0
    outcome = getattr(request.node, "faults_report_call", None)
    if outcome is not None and outcome.failed:
        for service in (stack.web.service, stack.worker):
            print(f"\n----- {service.name} (pid {service.pid}) -----\n{service.tail(80)}")


def paid_group_and_member(stack):
    group = GroupFactory(price=Decimal("180.00"), therapist=licensed_therapist("NY"), capacity=2)
    member = web_member()
    browser = stack.web.browser()
    browser.sign_in(member.email)
    return group, member, browser


def member_reserves_a_paid_group(stack):
    group, member, browser = paid_group_and_member(stack)
    answer = browser.reserve(group.slug)
    assert answer.status == 302, (answer.status, answer.text[:300])
    return member, browser, answer


def assert_unavailable_page(answer: Answer) -> None:
    assert answer.status == 503, (answer.status, answer.location, answer.text[:300])
    assert "988" in answer.text and "Try again" in answer.text, answer.text[:1000]
    assert answer.seconds < min(stripe_worst_case_seconds() + 3, GUNICORN_TIMEOUT - 5), answer.seconds


def open_pages(fake, reservation_id: int) -> list[str]:
    """Open Checkout pages at (fake) Stripe for the reservation, and in our database."""
    at_stripe = [
        s["id"]
        for s in fake.sessions.values()
        if s["client_reference_id"] == str(reservation_id) and s["status"] == "open"
    ]
    ours = list(
        Payment.objects.filter(reservation_id=reservation_id, status=Payment.Status.PENDING)
        .exclude(checkout_url="")
        .values_list("checkout_session_id", flat=True)
    )
    assert sorted(at_stripe) == sorted(ours), (at_stripe, ours)
    return ours


def session_keys(fake, reservation_id: int) -> list[str]:
    """The idempotency key of every request to create a Checkout page for the reservation."""
    return [
        r.idempotency_key
        for r in fake.requests
        if r.method == "POST"
        and r.path == "/v1/checkout/sessions"
        and r.body.get("client_reference_id") == str(reservation_id)
    ]


def try_again_opens_one_page(stack, fake, browser, reservation_id: int) -> Answer:
    answer = browser.get(f"/reservations/{reservation_id}/pay/")
    assert answer.status == 302 and answer.location.startswith(f"{fake.url}/checkout/cs_test_"), (
        answer.status,
        answer.location,
        answer.text[:300],
    )
    assert len(open_pages(fake, reservation_id)) == 1
    again = browser.get(f"/reservations/{reservation_id}/pay/")  # a second tab, the back button
    assert again.status == 302 and again.location == answer.location
    assert len(open_pages(fake, reservation_id)) == 1
    return answer


def pay_and_settle(stack, fake, member, reservation_id: int, checkout_url: str) -> dict:
    """The member pays on the hosted page; Stripe sends the event twice (it retries)."""
    session = fake.pay(checkout_url.rsplit("/", 1)[1])
    event = fake.event("checkout.session.completed", session)
    assert fake.deliver(event) == 200 and fake.deliver(event) == 200
    assert Reservation.objects.get(pk=reservation_id).status == Reservation.Status.CONFIRMED
    wait_until(lambda: stack.mailbox.to(member.email), timeout=30, what="the confirmation email")
    with celery_publishing_to(stack.redis.url) as app:
        settle_outbox(app, connection.cursor)
    with connection.cursor() as cursor:
        figures = check_invariants(cursor, stack.mailbox)
    assert stack.mailbox.to(member.email) == ["Your seat is confirmed"]
    return figures


def test_a_500_kept_for_the_key_answers_the_503_page_and_try_again_opens_one_page(stack, fake):
    fake.fail_next = [500]  # the reserve's own try (the library's retry gets it replayed)
    member, browser, answer = member_reserves_a_paid_group(stack)
    # Straight to the page that says so: the pay page does not ask Stripe again at once.
    assert answer.location.endswith("/pay/?unavailable=1"), answer.location
    reservation_id = answer.reservation_id()
    unavailable = browser.get(answer.location)
    assert_unavailable_page(unavailable)
    assert open_pages(fake, reservation_id) == []
    opened = try_again_opens_one_page(stack, fake, browser, reservation_id)
    keys = session_keys(fake, reservation_id)
    # Stripe replays a 500 for its key, so "Try again" is a new attempt with a new key.
    assert len(keys) == 3 and len(set(keys)) == 2, keys
    attempts = dict(Payment.objects.filter(reservation_id=reservation_id).values_list("pk", "status"))
    assert sorted(attempts.values()) == ["failed", "pending"], attempts
    figures = pay_and_settle(stack, fake, member, reservation_id, opened.location)
    report("stripe_500", unavailable_s=round(unavailable.seconds, 2), stripe_keys=len(keys), **figures)


def test_answers_lost_on_the_way_back_answer_the_503_page_and_try_again_opens_the_same_page(stack, fake):
    fake.lose_next = 2  # the reserve's try and the library's retry
    member, browser, answer = member_reserves_a_paid_group(stack)
    assert answer.location.endswith("/pay/?unavailable=1"), answer.location
    reservation_id = answer.reservation_id()
    unavailable = browser.get(answer.location)
    assert_unavailable_page(unavailable)
    opened = try_again_opens_one_page(stack, fake, browser, reservation_id)
    keys = session_keys(fake, reservation_id)
    made = [s for s in fake.sessions.values() if s["client_reference_id"] == str(reservation_id)]
    # Stripe made the page at the first try; "Try again" sent the same request again.
    assert len(made) == 1 and len(keys) == 3 and len(set(keys)) == 1, (made, keys)
    assert Payment.objects.filter(reservation_id=reservation_id).count() == 1
    figures = pay_and_settle(stack, fake, member, reservation_id, opened.location)
    report("stripe_lost", unavailable_s=round(unavailable.seconds, 2), **figures)


def test_a_stripe_stalling_45s_answers_the_503_page_in_time_while_the_catalog_answers(stack, fake):
    # The product's default timeouts (STRIPE_CONNECT_TIMEOUT, STRIPE_READ_TIMEOUT,
    # STRIPE_MAX_NETWORK_RETRIES are not set for the web): at most this long per call.
    worst = stripe_worst_case_seconds()
    group, member, browser = paid_group_and_member(stack)
    catalog = stack.web.browser()
    baseline = max(catalog.get("/").seconds for _ in range(5))
    # Stripe stalls from the moment the member presses "Hold my seat and pay": the reserve's
    # try and its retry. The pay page it lands on says so without asking Stripe again.
    fake.stall_seconds, fake.stall_next = 45.0, 2

    answers: list[Answer] = []
    errors: list[BaseException] = []

    def reserve_and_follow() -> None:
        try:
            answers.append(browser.reserve(group.slug, timeout=60))
            answers.append(browser.get(answers[0].location, timeout=60))
        except BaseException as exc:  # reported below
            errors.append(exc)

    member_waits = threading.Thread(target=reserve_and_follow, daemon=True)
    with LatencyProbe(stack.web.port, "/") as probe:
        member_waits.start()
        member_waits.join(timeout=2 * GUNICORN_TIMEOUT + 30)
    assert not errors and len(answers) == 2, (errors, answers)
    reserved, unavailable = answers
    assert reserved.status == 302 and reserved.location.endswith("/pay/?unavailable=1"), reserved.location
    assert reserved.seconds < min(worst + 3, GUNICORN_TIMEOUT - 5), reserved.seconds
    assert_unavailable_page(unavailable)
    assert unavailable.seconds < 2, unavailable.seconds  # the member waits once, not twice
    statuses = {status for status, _ in probe.samples}
    assert statuses == {200}, probe.samples
    assert len(probe.samples) >= 10 and probe.worst < 3.0, (baseline, probe.samples)

    reservation_id = reserved.reservation_id()
    opened = try_again_opens_one_page(stack, fake, browser, reservation_id)
    # Every try sent the one attempt's request (same key): the two stalled requests, still
    # asleep at the fake, will find their key used and replay its page, not make another.
    assert Payment.objects.filter(reservation_id=reservation_id).count() == 1
    assert session_keys(fake, reservation_id) == [
        Payment.objects.get(reservation_id=reservation_id).idempotency_key
    ]
    figures = pay_and_settle(stack, fake, member, reservation_id, opened.location)
    report(
        "stripe_stall",
        worst_case_s=worst,
        reserve_s=round(reserved.seconds, 2),
        unavailable_s=round(unavailable.seconds, 2),
        press_to_page_s=round(reserved.seconds + unavailable.seconds, 2),
        catalog_baseline_worst_s=round(baseline, 3),
        catalog_during_stall_worst_s=round(probe.worst, 3),
        catalog_samples=len(probe.samples),
        **figures,
    )
