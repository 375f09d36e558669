"""Catalog helpers for templates."""

from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from groups.models import WEEKDAYS_PLURAL, Group

register = template.Library()


@register.filter
def days_on(group: Group, zone: str):
    """The group's meeting day on the page's clock: Tuesdays 10 pm in New York are
    "Wednesdays" on a page in UTC, so the day agrees with the dates printed beside it."""
    moment = getattr(group, "next_session_at", None)
    if moment is None or not zone:
        return group.weekday_plural
    return WEEKDAYS_PLURAL[timezone.localtime(moment, ZoneInfo(zone)).weekday()]
