"""Every look at member data in the admin is audited: one entry a list view or a search, one a
record opened; the real client address, not one a request claims; and which filters were
used, not the values typed into them."""

import json

import pytest

from grouport.models import AuditEntry, User
from grouport.roles import STAFF, role_grant
from tests.factories import member, sign_in, staff

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_staff_list_view_and_a_search_each_write_one_audit_entry(client, seat):
    _group, alex, _reservation = seat
    for _ in range(3):
        member()
    ops = staff()
    sign_in(client, ops)
    before = AuditEntry.objects.count()
    assert client.get("/admin/enrollment/reservation/?status__exact=confirmed").status_code == 200
    assert client.get(f"/admin/grouport/user/?q={alex.email}").status_code == 200
    assert client.get(f"/admin/grouport/user/{alex.pk}/change/").status_code == 200
    assert client.get("/admin/billing/payment/").status_code == 200
    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert [(e.action, e.object_type) for e in entries] == [
        ("admin.list_viewed", "enrollment.reservation"),
        ("admin.list_viewed", "grouport.user"),
        ("admin.record_viewed", "grouport.user"),
        ("admin.list_viewed", "billing.payment"),
    ]
    listed, searched, viewed, _ = entries
    assert listed.data == {"filters": {"status__exact": "confirmed"}, "searched": False, "rows": 1}
    assert searched.data["searched"] is True and searched.data["rows"] == 1
    assert alex.email not in json.dumps([e.data for e in entries])  # the words searched are not kept
    assert viewed.object_id == str(alex.pk) and viewed.actor == ops
    assert all(e.ip_address == "127.0.0.1" for e in entries)


def test_the_audit_records_the_real_address_not_a_forwarded_one(client, settings):
    sign_in(client, staff())
    client.get("/admin/grouport/user/", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="10.0.0.5")
    assert AuditEntry.objects.latest("pk").ip_address == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1  # behind one proxy, its address for the client is the one
    client.get("/admin/grouport/user/", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7", REMOTE_ADDR="10.0.0.5")
    assert AuditEntry.objects.latest("pk").ip_address == "198.51.100.7"


def test_typed_filter_values_are_not_kept_in_the_audit(client):
    alex = member(last_name="Bergström")
    ops = User.objects.create_user("ops@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    sign_in(client, ops)
    client.get(f"/admin/grouport/user/?last_name=Berg&email__icontains={alex.email[:6]}&is_active__exact=1")
    entry = AuditEntry.objects.filter(action="admin.list_viewed").latest("pk")
    assert entry.data["filters"] == {
        "last_name": "[redacted]",
        "email__icontains": "[redacted]",
        "is_active__exact": "1",
    }
    client.get("/admin/enrollment/reservation/?status__exact=confirmed&group__id__exact=4")
    entry = AuditEntry.objects.filter(action="admin.list_viewed").latest("pk")
    assert entry.data["filters"] == {"status__exact": "confirmed", "group__id__exact": "4"}


def test_a_parameter_that_names_no_field_keeps_only_its_name_and_a_yes_or_no_keeps_its_value(client):
    # "Show counts" (_facets) and a raw-id popup's own parameters are not fields: whatever
    # they carry, only their names are kept. A yes/no cannot be a person's words, however written.
    sign_in(client, staff())
    response = client.get("/admin/grouport/user/?_facets=True&_popup=1&_to_field=id&is_active__exact=True")
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="admin.list_viewed").latest("pk")
    assert entry.data["filters"] == {
        "_facets": "[redacted]",
        "_popup": "1",
        "_to_field": "[redacted]",
        "is_active__exact": "True",
    }
