"""Turn a weekly local-time slot into session times in UTC.

A group meets at the same wall-clock time in its own IANA zone every week, so its UTC
time moves by an hour across daylight-saving changes. Everything here is pure.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC


@dataclass(frozen=True)
class SessionSlot:
    number: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    module: str


def local_to_utc(day: dt.date, at: dt.time, time_zone: str) -> dt.datetime:
    """Return the UTC instant of wall-clock ``at`` on ``day`` in ``time_zone``.

    A time that falls in a spring-forward gap is read as the standard-time offset (``fold=0``),
    which lands an hour later on the clock: the meeting still happens rather than vanishing.
    """
    return dt.datetime.combine(day, at, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def modules_by_week(modules: list[str], weeks: int) -> list[str]:
    """Spread the ordered ``modules`` over ``weeks`` in contiguous blocks, earlier ones longer."""
    if not modules:
        return [""] * weeks
    if weeks < len(modules):
        return modules[:weeks]
    base, extra = divmod(weeks, len(modules))
    plan: list[str] = []
    for index, module in enumerate(modules):
        plan.extend([module] * (base + (1 if index < extra else 0)))
    return plan


def weekly_sessions(
    *,
    first_on: dt.date,
    start_time: dt.time,
    time_zone: str,
    duration_minutes: int,
    weeks: int,
    modules: list[str],
) -> list[SessionSlot]:
    """Return the sessions of a group meeting weekly from ``first_on`` for ``weeks`` weeks."""
    plan = modules_by_week(modules, weeks)
    slots = []
    for week in range(weeks):
        starts_at = local_to_utc(first_on + dt.timedelta(weeks=week), start_time, time_zone)
        slots.append(
            SessionSlot(
                number=week + 1,
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(minutes=duration_minutes),
                module=plan[week],
            )
        )
    return slots
