"""Sessions keep their local wall-clock time across daylight-saving changes."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from groups.models import GroupSession
from groups.schedule import local_to_utc, modules_by_week, weekly_sessions
from groups.services import group_sessions_sync
from tests.factories import GroupFactory

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.sqlite
def test_new_york_group_stays_at_7pm_across_the_march_change():
    # Tuesdays from 2027-02-23: DST starts Sunday 2027-03-14.
    slots = weekly_sessions(
        first_on=dt.date(2027, 2, 23),
        start_time=dt.time(19, 0),
        time_zone="America/New_York",
        duration_minutes=90,
        weeks=6,
        modules=[],
    )
    local_times = {s.starts_at.astimezone(NY).time() for s in slots}
    assert local_times == {dt.time(19, 0)}
    utc_hours = [s.starts_at.hour for s in slots]
    assert utc_hours == [0, 0, 0, 23, 23, 23]  # 7 pm EST is 00:00Z, 7 pm EDT is 23:00Z
    assert all(s.starts_at.tzinfo == dt.UTC for s in slots)


@pytest.mark.sqlite
def test_chicago_group_stays_at_6pm_across_the_november_change():
    # Thursdays from 2026-10-22: DST ends Sunday 2026-11-01.
    slots = weekly_sessions(
        first_on=dt.date(2026, 10, 22),
        start_time=dt.time(18, 0),
        time_zone="America/Chicago",
        duration_minutes=60,
        weeks=4,
        modules=[],
    )
    assert {s.starts_at.astimezone(CHICAGO).time() for s in slots} == {dt.time(18, 0)}
    # Oct 22 and 29 are on CDT (UTC-5), Nov 5 and 12 on CST (UTC-6).
    assert [s.starts_at.hour for s in slots] == [23, 23, 0, 0]
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=60) for s in slots)


@pytest.mark.sqlite
@pytest.mark.parametrize("day", [dt.date(2027, 1, 12), dt.date(2027, 7, 13)])
def test_chicago_group_is_an_hour_later_in_utc_than_new_york_at_the_same_local_time(day):
    new_york = local_to_utc(day, dt.time(19, 0), "America/New_York")
    chicago = local_to_utc(day, dt.time(19, 0), "America/Chicago")
    assert chicago - new_york == dt.timedelta(hours=1)


@pytest.mark.sqlite
def test_modules_are_spread_over_the_weeks_in_order():
    assert modules_by_week(["core_principles", "mindfulness", "distress_tolerance"], 8) == [
        "core_principles",
        "core_principles",
        "core_principles",
        "mindfulness",
        "mindfulness",
        "mindfulness",
        "distress_tolerance",
        "distress_tolerance",
    ]
    assert modules_by_week([], 3) == ["", "", ""]


@pytest.mark.django_db
@pytest.mark.sqlite
@time_machine.travel(dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_saving_a_group_creates_its_sessions_across_both_dst_changes():
    # 40 Tuesdays from 2027-02-23 span March 14 and November 7, 2027.
    group = GroupFactory(starts_on=dt.date(2027, 2, 23), weekday=1, weeks=40)
    sessions = list(group.sessions.order_by("number"))
    assert [s.number for s in sessions] == list(range(1, 41))
    assert {s.starts_at.astimezone(NY).strftime("%a %H:%M") for s in sessions} == {"Tue 19:00"}
    assert {s.starts_at.astimezone(dt.UTC).hour for s in sessions} == {0, 23}
    assert group.ends_on == dt.date(2027, 2, 23) + dt.timedelta(weeks=39)


@pytest.mark.django_db
@pytest.mark.sqlite
def test_changing_the_slot_moves_future_sessions_and_keeps_past_ones():
    with time_machine.travel(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(starts_on=dt.date(2027, 1, 5), weekday=1, weeks=4)
    with time_machine.travel(dt.datetime(2027, 1, 15, tzinfo=dt.UTC), tick=False):
        group.start_time = dt.time(20, 0)
        group.weeks = 3
        group.save()
        group_sessions_sync(group=group)
    local = {s.number: s.starts_at.astimezone(NY).time() for s in GroupSession.objects.filter(group=group)}
    # Weeks 1 and 2 (Jan 5 and 12) happened at 7 pm; week 3 moves; week 4 was dropped.
    assert local == {1: dt.time(19, 0), 2: dt.time(19, 0), 3: dt.time(20, 0)}


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_session_whose_join_links_are_open_is_never_moved(settings):
    """Members may be checking in: the schedule sync leaves it where it is."""
    with time_machine.travel(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(starts_on=dt.date(2027, 1, 5), weekday=1, weeks=4)
    soon = group.sessions.get(number=2)
    now = soon.starts_at - dt.timedelta(minutes=settings.JOIN_OPENS_MINUTES_BEFORE - 5)
    later = group.sessions.get(number=3)
    with time_machine.travel(now, tick=False):
        group.start_time = dt.time(20, 0)
        group.save()
        group_sessions_sync(group=group)
    assert group.sessions.get(number=2).starts_at == soon.starts_at  # links open: kept
    assert group.sessions.get(number=3).starts_at == later.starts_at + dt.timedelta(hours=1)


@pytest.mark.django_db
def test_first_session_date_must_fall_on_the_weekday():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="must be a Tuesday"):
        GroupFactory(starts_on=dt.date(2027, 1, 6), weekday=1)  # a Wednesday
