"""A group's status and a session's cancellation move through their maps, audited."""

import pytest

from grouport.models import AuditEntry
from grouport.transitions import InvalidTransition
from groups.models import Group, GroupSession
from groups.services import group_save, session_cancel
from tests.factories import GroupFactory, licensed_therapist, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_published_group_closes_and_reopens_but_never_goes_back_to_draft():
    group = GroupFactory(therapist=licensed_therapist("NY"))
    group.status, group.title = Group.Status.CLOSED, "Renamed"
    group_save(group=group)
    group.refresh_from_db()
    assert (group.status, group.title) == ("closed", "Renamed")
    assert AuditEntry.objects.filter(action="group.closed", object_id=str(group.pk)).exists()
    group.status = Group.Status.PUBLISHED
    group_save(group=group)
    group.status = Group.Status.DRAFT
    with pytest.raises(InvalidTransition):
        group_save(group=group)
    assert Group.objects.get(pk=group.pk).status == "published"


def test_the_admin_form_explains_a_refused_status(client):
    from grouport.models import User

    admin_client = client
    sign_in(client, User.objects.create_superuser("root@example.test", "pw-root-12345"))
    group = GroupFactory(therapist=licensed_therapist("NY"))
    page = admin_client.get(f"/admin/groups/group/{group.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        status="draft",
        modules=["core_principles"],
        **{"sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0"},
    )
    response = admin_client.post(f"/admin/groups/group/{group.pk}/change/", data)
    assert response.status_code == 200
    assert "cannot become draft" in response.content.decode()
    assert Group.objects.get(pk=group.pk).status == "published"


def test_cancelling_a_session_twice_is_one_cancellation():
    group = GroupFactory(therapist=licensed_therapist("NY"))
    session = group.sessions.get(number=2)
    session_cancel(session=session, actor=None, note="Unwell")
    session_cancel(session=session, actor=None)
    assert GroupSession.objects.get(pk=session.pk).status == "cancelled"
    assert AuditEntry.objects.filter(action="session.cancelled", object_id=str(session.pk)).count() == 1
