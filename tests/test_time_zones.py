"""One time zone a page, and stated: the member's own zone, else the browser's; any zone for a
member abroad; the day filter and the printed dates agree; countdowns in plain words on the
member's clock."""

import datetime as dt
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from enrollment.services.reservations import reservation_hold
from grouport.models import User
from grouport.templatetags.grouport import time_left_text
from tests.factories import ALL_TRUE, GroupFactory, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_visitors_browser_zone_is_used_and_stated(client):
    GroupFactory()
    client.cookies["tz"] = "America/Los_Angeles"
    page = client.get("/").content.decode()
    assert "Times are shown in Pacific time" in page
    assert 'data-zone="America/Los_Angeles" data-zone-source="browser"' in page
    client.cookies["tz"] = "Not/AZone"
    guessed = client.get("/").content.decode()
    assert 'data-zone-source="guess"' in guessed  # the page's script will put the browser's zone in


def test_a_members_own_zone_wins_over_the_browser(client):
    client.force_login(member(state="TX", time_zone="America/Chicago"))
    client.cookies["tz"] = "America/Los_Angeles"
    assert "Central time" in client.get("/").content.decode()


def test_the_day_filter_and_the_printed_dates_agree_in_any_zone(client):
    # Tuesdays 10 pm in New York are Wednesdays 3 am in UTC.
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(
            title="Late Tuesday", weekday=1, start_time=dt.time(22, 0), starts_on=dt.date(2027, 1, 5)
        )
        tuesday_utc = client.get("/?tz=UTC&weekday=1").content.decode()
        wednesday_utc = client.get("/?tz=UTC&weekday=2").content.decode()
        tuesday_ny = client.get("/?tz=America/New_York&weekday=1").content.decode()
    assert "Late Tuesday" not in tuesday_utc
    assert "Late Tuesday" in wednesday_utc and "Wed Jan 6, 3:00 AM" in wednesday_utc
    assert "Late Tuesday" in tuesday_ny and "Tue Jan 5, 10:00 PM" in tuesday_ny


def test_a_card_names_the_day_on_the_pages_clock(client):
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(
            title="Late Tuesday", weekday=1, start_time=dt.time(22, 0), starts_on=dt.date(2027, 1, 5)
        )
        utc = client.get("/?tz=UTC").content.decode()
        new_york = client.get("/?tz=America/New_York").content.decode()
    assert "Wednesdays, 8 weeks" in utc and "Tuesdays" not in utc
    assert "Tuesdays, 8 weeks" in new_york


def test_a_member_abroad_may_pick_any_zone(client):
    alex = member()
    client.force_login(alex)
    client.post(
        "/account/profile/",
        {"first_name": "A", "last_name": "B", "state": "NY", "time_zone": "Europe/Madrid", "language": "en"},
    )
    assert User.objects.get(pk=alex.pk).time_zone == "Europe/Madrid"
    api = APIClient()
    api.force_authenticate(alex)
    assert api.patch("/api/me/", {"time_zone": "Asia/Tokyo"}, format="json").status_code == 200
    bad = api.patch("/api/me/", {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert bad.status_code == 400 and "time_zone" in bad.json()["errors"]


def test_countdowns_say_how_long_and_until_when_in_plain_words():
    now = dt.datetime(2026, 11, 24, 15, 34, tzinfo=dt.UTC)  # 10:34 AM in New York
    tomorrow = now + dt.timedelta(hours=23, minutes=59, seconds=30)
    assert time_left_text(tomorrow, now, "America/New_York") == "23 h 59 min left (until tomorrow, 10:33 AM)"
    soon = now + dt.timedelta(minutes=29, seconds=10)
    assert time_left_text(soon, now, "America/New_York") == "29 minutes left (until today, 11:03 AM)"
    assert time_left_text(now, now, "America/New_York") == "time is up"


def test_an_offer_shows_its_countdown_on_the_members_clock(client, therapy):
    alex = member(state="NY", time_zone="America/New_York")
    held = reservation_hold(member=alex, group=therapy, attestations=ALL_TRUE)
    client.force_login(alex)
    page = client.get(f"/reservations/{held.pk}/").content.decode()
    assert re.search(r"\d+ minutes left \(until (today|tomorrow), \d{1,2}:\d{2} (AM|PM)\)", page)
    assert "min 59 s left" not in page
