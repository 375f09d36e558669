"""Joining a session from a personal link: the check-in page, the video, "I can't make it".

The group's video link is in no page until the member has checked in for a session whose
window is open; then it is this page's one button (and where it sends them).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST
from django_permissions_policy import PermissionsPolicyMiddleware

from attendance.calendar import reservation_calendar
from attendance.errors import JOIN_MESSAGES, JoinRefused
from attendance.join import BadJoinToken, join_token_read
from attendance.models import Attendance, CheckIn
from attendance.services.checkin import JoinState, join_state, session_check_in, session_excuse
from attendance.services.room import room_enter
from attendance.video import LocalVideo, VideoUnavailable, member_way_in, video_provider
from enrollment.models import Reservation
from enrollment.selectors import member_reservations
from grouport.access import Access, route_access
from grouport.exceptions import InvalidInput
from grouport.states import STATE_CHOICES, STATE_NAMES
from groups.eligibility import REASON_TEXT, Reason
from groups.models import Group, GroupSession
from groups.selectors import skills_alternatives
from intake.errors import ConsentRequired
from intake.selectors import member_intake


def _from_token(token: str) -> tuple[Reservation, GroupSession]:
    try:
        reservation_id, session_id = join_token_read(token)
    except BadJoinToken:
        raise Http404("Not a join link.") from None
    reservation = Reservation.objects.select_related("group").filter(pk=reservation_id).first()
    session = GroupSession.objects.select_related("group").filter(pk=session_id).first()
    if reservation is None or session is None:
        raise Http404("Not a join link.")
    return reservation, session


def _usual_address(member) -> str:
    intake = member_intake(member)
    return intake.usual_address if intake is not None else ""


@route_access(Access.MEMBER)
@login_required
def join(request: HttpRequest, token: str) -> HttpResponse:
    reservation, session = _from_token(token)
    member = request.user
    now = timezone.now()
    state = join_state(reservation=reservation, session=session, member=member, now=now)
    context = {
        "token": token,
        "session": session,
        "group": session.group,
        "member_tz": member.zone,
        "therapy": session.group.kind == Group.Kind.THERAPY,
        "state_choices": STATE_CHOICES,
        # Not pre-filled with their home state: the point is where they are right now.
        "chosen_state": "",
        "usual_address": _usual_address(member) if session.group.kind == Group.Kind.THERAPY else "",
        "chosen_location": request.POST.get("location", ""),
        "chosen_at_usual": request.POST.get("at_usual_address", ""),
        "started": now >= session.starts_at,
        "mark": Attendance.objects.filter(session=session, reservation=reservation)
        .values_list("status", flat=True)
        .first(),
        "join_state": str(state),
        "opens_at": session.join_opens_at,
        "message": JOIN_MESSAGES.get(str(state), ""),
    }
    if state == JoinState.NOT_YOURS:
        # Nothing about the group or the session: the link is someone else's.
        return render(
            request,
            "attendance/join.html",
            {"join_state": str(state), "message": context["message"]},
            status=403,
        )
    if state != JoinState.OPEN:
        return render(
            request, "attendance/join.html", context, status=200 if state == JoinState.NOT_YET else 410
        )
    admitted = CheckIn.objects.filter(session=session, reservation=reservation, admitted=True).first()
    if admitted is None and request.method == "POST":
        try:
            result = session_check_in(
                reservation=reservation,
                session=session,
                member=member,
                state=request.POST.get("state", ""),
                at_usual_address={"yes": True, "no": False}.get(request.POST.get("at_usual_address", "")),
                location=request.POST.get("location", ""),
                request=request,
                way_in=False,  # the page it redirects to makes it
            )
        except ConsentRequired:
            return redirect(reverse("intake:consent") + "?next=" + request.path)
        except InvalidInput as error:
            context["error"] = error.detail
            return render(request, "attendance/join.html", context, status=400)
        except JoinRefused as error:
            context.update(join_state=error.state, message=error.detail)
            return render(request, "attendance/join.html", context, status=410)
        if result.admitted:
            return redirect(request.path)  # the video page, safe to reload
        context.update(
            refused=True,
            chosen_state=result.check_in.state,
            place=STATE_NAMES.get(result.check_in.state, result.check_in.state),
            reasons=[REASON_TEXT[Reason(code)] for code in result.decision.reason_codes],
            skills_groups=skills_alternatives(
                limit=3,
                exclude=Reservation.objects.filter(member=member, status__in=Reservation.ACTIVE).values_list(
                    "group_id", flat=True
                ),
            ),
        )
        return render(request, "attendance/join.html", context, status=403)
    if admitted is not None:
        if video_provider().origin():
            # The room is on our page (the crisis line and "Leave" stay on screen).
            context.update(checked_in=admitted, video_url=reverse("attendance:join_room", args=[token]))
            if request.GET.get("video") == "unavailable":
                context.update(video_unavailable=True)
                return render(request, "attendance/join.html", context, status=503)
        else:
            # Development's static link: made only now, after an admitted check-in.
            context.update(checked_in=admitted, video_url=member_way_in(session=session, member=member))
    return render(request, "attendance/join.html", context)


@route_access(Access.MEMBER)
@login_required
@require_POST
def join_excuse(request: HttpRequest, token: str) -> HttpResponse:
    """ "I can't make it this week", from My groups or the join page."""
    reservation, session = _from_token(token)
    try:
        session_excuse(reservation=reservation, session=session, member=request.user, request=request)
    except JoinRefused as error:
        messages.error(request, error.detail)
    else:
        messages.success(
            request, _("Thank you for telling us. Your therapist knows you can't make it this time.")
        )
    return redirect("portal:my_groups")


def next_sessions_for(
    *, reservations: list[Reservation], sessions: list[GroupSession], now
) -> dict[int, dict]:
    """For My groups: each confirmed seat's next session, its join link and what was said."""
    from attendance.join import join_token

    nxt: dict[int, GroupSession] = {}
    for reservation in reservations:
        for session in sessions:
            if session.group_id == reservation.group_id and session.status == GroupSession.Status.SCHEDULED:
                nxt[reservation.pk] = session
                break
    marks = dict(
        ((a.reservation_id, a.session_id), a.status)
        for a in Attendance.objects.filter(
            reservation_id__in=list(nxt), session_id__in=[s.pk for s in nxt.values()]
        )
    )
    return {
        reservation_id: {
            "session": session,
            "join_path": reverse(
                "attendance:join", args=[join_token(reservation_id=reservation_id, session_id=session.pk)]
            ),
            "excuse_path": reverse(
                "attendance:join_excuse",
                args=[join_token(reservation_id=reservation_id, session_id=session.pk)],
            ),
            "opens_at": session.join_opens_at,
            "open_now": session.join_open(now),
            "started": now >= session.starts_at,
            "mark": marks.get((reservation_id, session.pk)),
        }
        for reservation_id, session in nxt.items()
    }


@route_access(Access.MEMBER)
@login_required
def calendar_file(request: HttpRequest, pk: int) -> HttpResponse:
    # Another member's reservation does not exist, as far as this member can tell.
    reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
    if reservation.status != Reservation.Status.CONFIRMED:
        raise Http404("Only a confirmed seat has a calendar.")
    sessions = list(reservation.group.sessions.order_by("number"))
    response = HttpResponse(
        reservation_calendar(reservation=reservation, sessions=sessions), content_type="text/calendar"
    )
    response["Content-Disposition"] = f'attachment; filename="group-sessions-{reservation.pk}.ics"'
    return response


# What the room's page lets the provider's frame use: the camera and microphone, the screen
# to share, full screen. Every other page allows none of these (PERMISSIONS_POLICY).
ROOM_FEATURES = ("camera", "microphone", "display-capture", "fullscreen", "autoplay")


@route_access(Access.MEMBER)
@login_required
def join_room(request: HttpRequest, token: str) -> HttpResponse:
    """The session's video room, on our page: the provider's frame under our header (the
    crisis line, "Leave"). Only for the member's admitted check-in while the session's join
    window is open. Until the therapist lets them in, the page is our lobby and no way in
    exists; then the way in is made here, for this page alone."""
    reservation, session = _from_token(token)
    member = request.user
    join_page = reverse("attendance:join", args=[token])
    state = join_state(reservation=reservation, session=session, member=member, now=timezone.now())
    admitted = (
        CheckIn.objects.select_related("session", "reservation")
        .filter(session=session, reservation=reservation, admitted=True)
        .first()
    )
    provider = video_provider()
    if state != JoinState.OPEN or admitted is None or not provider.origin():
        return redirect(join_page)
    try:
        room = room_enter(check_in=admitted, member=member)
    except VideoUnavailable:
        return redirect(join_page + "?video=unavailable")
    context = {"session": session, "token": token, "waiting": room.waiting, "check_in": admitted}
    if room.waiting:
        # Our lobby: no way in exists yet; the page asks again every few seconds.
        return render(request, "attendance/room.html", context)
    way_in = room.way_in
    response = render(request, "attendance/room.html", {**context, "way_in": way_in})
    origin = provider.origin()
    # The provider's origin alone may be framed, and may use the camera and microphone.
    response._csp_update = {"frame-src": [origin]}
    policy = {**settings.PERMISSIONS_POLICY, **{feature: ["self", origin] for feature in ROOM_FEATURES}}
    response._permissions_policy_override = PermissionsPolicyMiddleware.compute_header_value(
        policy, name="room"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@route_access(Access.PUBLIC)
@xframe_options_sameorigin
def video_stand_in(request: HttpRequest, room_key: str) -> HttpResponse:
    """Development's stand-in for the provider's room (``VIDEO_PROVIDER=local``, make run's
    default): opened inside our room page with a signed way in, it says whose room it is, who
    they are and who else has it open. Any other provider: there is no such page."""
    provider = video_provider()
    if not isinstance(provider, LocalVideo):
        raise Http404("No stand-in room.")
    claims = provider.enter(room=room_key, token=request.GET.get("t", ""))
    if claims is None:
        response = render(request, "attendance/stand_in_room.html", {"refused": True}, status=403)
    else:
        context = {"claims": claims, "room": room_key, "here": provider.here(room_key)}
        response = render(request, "attendance/stand_in_room.html", context)
    # Our room page (this site) may frame it; nothing else may.
    response._csp_replace = {"frame-ancestors": ["'self'"]}
    response["Referrer-Policy"] = "no-referrer"
    return response
