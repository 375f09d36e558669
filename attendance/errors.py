"""Why a join link or a check-in was refused, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from grouport.exceptions import Forbidden

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
            extra["opens_at"] = session.join_opens_at.isoformat()
        super().__init__(str(JOIN_MESSAGES[str(state)]), code=str(state), **extra)
        self.state = str(state)


class NotHereNow(Forbidden):
    code = "not_licensed_where_you_are"
    default_detail = _(
        "Your therapist is not licensed in the state you are in right now, so the law does not let "
        "them meet with you there."
    )
