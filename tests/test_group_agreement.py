"""The group agreement: read in the member's language, accepted by version, asked again
when a new version comes out mid-form, and the accepted version shown on the roster."""

import pytest
from django.test import Client

from enrollment.models import GroupAgreement, Reservation
from enrollment.services.reservations import reservation_confirm
from grouport.models import User
from grouport.roles import THERAPIST, role_grant
from tests.factories import ATTEST_FORM, member, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_the_accepted_agreement_version_is_stored_and_shown_on_the_roster(client, therapy):
    current = GroupAgreement.objects.order_by("-version").first()
    alex = member()
    client.force_login(alex)
    form = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert f'name="agreement_version" value="{current.version}"' in form
    client.post(f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": current.version})
    reservation = Reservation.objects.get(member=alex)
    assert reservation.agreement == current
    reservation_confirm(reservation=reservation, actor=alex)

    therapist_user = User.objects.create_user("t@example.test", "pw-t-123456789")
    therapy.therapist.user = therapist_user
    therapy.therapist.save()
    role_grant(therapist_user, THERAPIST)
    staff = Client()
    sign_in(staff, therapist_user)
    roster = staff.get(f"/admin/groups/group/{therapy.pk}/roster/").content.decode()
    assert '<th title="The group agreement version the member accepted">Agreement</th>' in roster
    assert f"<td>v{current.version}</td>" in roster


def test_a_new_version_published_mid_form_asks_to_read_it_again(client, therapy):
    old = GroupAgreement.objects.order_by("-version").first()
    client.force_login(member())
    GroupAgreement.objects.create(version=old.version + 1, body="New text.", body_es="Texto nuevo.")
    response = client.post(
        f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": old.version}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "agreement was just updated" in page and "New text." in page
    assert not Reservation.objects.exists()
    # Read and accepted again, the form now carries the new version and goes through.
    assert f'name="agreement_version" value="{old.version + 1}"' in page
    assert 'name="accept_agreement" id="id_accept_agreement" required checked' not in page  # unticked
    again = client.post(
        f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": old.version + 1}
    )
    assert again.status_code == 302
    assert Reservation.objects.get().agreement.version == old.version + 1


def test_the_agreement_page_shows_each_version_in_the_members_language(client):
    current = GroupAgreement.objects.order_by("-version").first()
    english = client.get("/agreement/").content.decode()
    assert "988" in english and f"version {current.version}" in english.lower()
    spanish = client.get("/agreement/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Le damos la bienvenida" in spanish
    assert client.get(f"/agreement/v{current.version}/").status_code == 200
    assert client.get("/agreement/v999/").status_code == 404
