"""Why a reservation or waitlist request was refused, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from grouport.exceptions import Conflict, Forbidden, InvalidInput
from grouport.transitions import InvalidTransition

__all__ = ["InvalidTransition"]  # raised by every status move; re-exported for enrollment's callers


class GroupFull(Conflict):
    code = "group_full"
    default_detail = _("This group is full. You can join its waitlist.")


class AlreadyReserved(Conflict):
    code = "already_reserved"
    default_detail = _("You already have a seat (or a held seat) in this group.")


class AlreadyWaitlisted(Conflict):
    code = "already_waitlisted"
    default_detail = _("You are already on this group's waitlist.")


class SeatsAvailable(Conflict):
    code = "seats_available"
    default_detail = _("This group has free seats: reserve one instead of joining the waitlist.")


class HoldExpired(Conflict):
    code = "hold_expired"
    default_detail = _("This seat was held for you, but the hold has run out.")


class NotEligible(Forbidden):
    code = "not_eligible"
    default_detail = _("You can't join this group from the state you live in.")


class EmailUnverified(Forbidden):
    code = "email_unverified"
    default_detail = _("Please verify your email address before reserving a seat.")


class AttestationRequired(InvalidInput):
    code = "attestation_required"
    default_detail = _("Please confirm each statement before reserving a seat.")


class GroupClosed(InvalidInput):
    code = "group_closed"
    default_detail = _("This group is not taking reservations.")


class ProfileIncomplete(InvalidInput):
    code = "profile_incomplete"
    default_detail = _("Please tell us which state you live in first.")


JOIN_MESSAGES = {
    "not_yet": _("This session's link is not open yet: it opens shortly before the session starts."),
    "ended": _("This session has ended."),
    "started": _(
        "This session has already started, so it is too late to say you can't make it. If you can "
        "still come, your join link works until it ends."
    ),
    "already_checked_in": _("You're already checked in to this session."),
    "session_cancelled": _("This session was cancelled. Your therapist will tell you about the next one."),
    "seat_cancelled": _("Your seat in this group was cancelled, so this link no longer opens."),
    "seat_moved": _("Your seat was moved to another group: use the link for your new group in My groups."),
    "seat_not_confirmed": _("Your seat in this group is not confirmed yet."),
    "not_yours": _("This join link belongs to another account. Use the link in your own My groups."),
}


class JoinRefused(Forbidden):
    """A join link that may not be used now; ``code`` says why (``JoinState``)."""

    def __init__(self, state: str, *, session=None) -> None:
        extra = {}
        if session is not None and state == "not_yet":
            from enrollment.join import join_opens_at

            extra["opens_at"] = join_opens_at(session).isoformat()
        super().__init__(str(JOIN_MESSAGES[str(state)]), code=str(state), **extra)
        self.state = str(state)


class NotHereNow(Forbidden):
    code = "not_licensed_where_you_are"
    default_detail = _(
        "Your therapist is not licensed in the state you are in right now, so the law does not let "
        "them meet with you there."
    )
