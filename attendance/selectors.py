"""What attendance reads for its pages."""

from dataclasses import dataclass

from attendance.models import Attendance
from enrollment.models import Reservation
from groups.models import GroupSession


@dataclass
class SheetRow:
    reservation: Reservation
    name: str
    status: str  # the session's mark so far ("" when none)


def attendance_sheet(*, session: GroupSession) -> list[SheetRow]:
    """The session's attendance sheet: the group's confirmed members by name, each with the
    mark they have for it so far (two queries, whatever the group's size)."""
    members = list(
        Reservation.objects.filter(group_id=session.group_id, status=Reservation.Status.CONFIRMED)
        .select_related("member")
        .order_by("member__last_name", "member__first_name", "pk")
    )
    marks = dict(
        Attendance.objects.filter(session=session, reservation__in=members).values_list(
            "reservation_id", "status"
        )
    )
    return [
        SheetRow(r, r.member.get_full_name() or f"Member #{r.member_id}", marks.get(r.pk, ""))
        for r in members
    ]
