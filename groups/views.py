"""Server-rendered catalog pages: they work with no JavaScript and on a phone."""

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from grouport.access import Access, route_access
from grouport.states import STATE_CHOICES, STATE_NAMES, is_valid_state, time_zone_name
from grouport.zones import viewer_zone
from groups.eligibility import REASON_TEXT, Reason
from groups.forms import CatalogFilterForm
from groups.models import Group
from groups.selectors import (
    eligibility_check,
    group_catalog,
    group_eligible_states,
    group_licenses_shown,
    group_public,
    skills_alternatives,
)

CATALOG_PAGE_SIZE = 12


@route_access(Access.PUBLIC)
def catalog(request: HttpRequest) -> HttpResponse:
    data = request.GET
    from_profile = False
    if not data and request.user.is_authenticated and request.user.state:
        # A signed-in member sees what they can join, as a visitor who chose their state would.
        data, from_profile = {"state": request.user.state}, True
    form = CatalogFilterForm(data or None)
    filters: dict[str, object] = {}
    if form.is_bound and form.is_valid():
        filters = form.filters()
    tz, tz_source = viewer_zone(
        request,
        tz=form.cleaned_data.get("tz") if form.is_bound and form.is_valid() else None,
        state=filters.get("state"),
    )
    now = timezone.now()
    groups = group_catalog(**filters, weekday_on_viewer_clock=True, viewer_tz=tz, now=now)
    page = Paginator(groups, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    state = filters.get("state")
    answer = eligibility_check(state=state, now=now) if state else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "groups/catalog.html",
        {
            "form": form,
            "page": page,
            "groups": page.object_list,
            "state": state,
            "state_name": STATE_NAMES.get(state or ""),
            "answer": answer,
            "answer_reasons": [REASON_TEXT[Reason(r)] for r in answer.reasons] if answer else [],
            "viewer_tz": tz,
            "viewer_tz_name": time_zone_name(tz),
            "viewer_tz_source": tz_source,
            "query": query.urlencode(),
            "from_profile": from_profile,
        },
    )


@route_access(Access.PUBLIC)
def group_detail(request: HttpRequest, slug: str) -> HttpResponse:
    group = group_public().filter(slug=slug).first()
    if group is None:
        raise Http404("No such group.")
    state = request.GET.get("state") or (request.user.state if request.user.is_authenticated else "")
    answer = eligibility_check(state=state, group=group) if state and is_valid_state(state) else None
    tz, tz_source = viewer_zone(request, tz=request.GET.get("tz"), state=state or None)
    sessions = list(group.sessions.order_by("number"))
    return render(
        request,
        "groups/group_detail.html",
        {
            "group": group,
            "sessions": sessions,
            "modules": [link.get_module_display() for link in group.module_links.all()],
            "eligible_states": [STATE_NAMES[s] for s in group_eligible_states(group) or []],
            "answer": answer,
            "answer_reasons": [REASON_TEXT[Reason(r)] for r in answer.reasons] if answer else [],
            "alternatives": answer.alternatives if answer else [],
            "state": state,
            "state_choices": STATE_CHOICES,
            "viewer_tz": tz,
            "viewer_tz_name": time_zone_name(tz),
            "viewer_tz_source": tz_source,
            "now": timezone.now(),
            "licenses": group_licenses_shown(group),
            "may_reserve": answer is None or answer.eligible,
            # Once, not twice: when the answer above lists skills groups, the aside does not.
            "skills_groups": []
            if group.kind == Group.Kind.SKILLS or (answer and answer.alternatives)
            else skills_alternatives(limit=3),
        },
    )
