"""The meeting day on a group's card, on the reader's clock."""

import datetime as dt

import pytest
from django.utils import timezone

from groups.selectors import group_catalog
from groups.templatetags.catalog import days_on
from tests.factories import GroupFactory, licensed_therapist

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def late_tuesdays():
    """Tuesdays at 10 pm in New York: already Wednesday in UTC, still Tuesday in California."""
    return GroupFactory(
        title="Late Tuesdays", weekday=1, start_time=dt.time(22, 0), therapist=licensed_therapist("NY")
    )


@pytest.mark.parametrize(
    ("zone", "day"),
    [("America/New_York", "Tuesdays"), ("UTC", "Wednesdays"), ("America/Los_Angeles", "Tuesdays")],
)
def test_the_card_names_the_day_it_is_where_the_reader_is(client, late_tuesdays, zone, day):
    page = client.get(f"/?tz={zone}").content.decode()
    card = page[page.index("Late Tuesdays") :]
    assert f'<p class="when">{day}, 8 weeks' in card[: card.index("</article>")]


def test_without_a_next_session_or_a_zone_the_card_says_the_groups_own_day(late_tuesdays):
    [listed] = group_catalog(weekday_on_viewer_clock=True, viewer_tz="UTC", now=timezone.now())
    assert str(days_on(listed, "UTC")) == "Wednesdays"
    assert str(days_on(listed, "")) == "Tuesdays"  # no zone known: the group's own
    listed.next_session_at = None  # every session has passed
    assert str(days_on(listed, "UTC")) == "Tuesdays"
