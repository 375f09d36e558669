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


class ReviewPending(Conflict):
    code = "review_pending"
    default_detail = _(
        "Your seat is held while a clinician reviews your intake. We will email you as soon as you can pay."
    )
