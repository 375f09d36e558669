"""Unprintable input (a NUL byte, a control character) is refused with a 400, never a 500: on
pages, in admin filters, in the API and in forms. The API's parser has its own tests, for
every endpoint at once, in test_api_parser.py."""

import pytest
from rest_framework.test import APIClient

from tests.factories import sign_in, staff

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_a_nul_byte_in_an_admin_filter_is_a_400_not_a_500(client):
    sign_in(client, staff())
    assert client.get("/admin/enrollment/reservation/?q=ana%00").status_code == 400
    assert client.get("/admin/grouport/user/?q=%00").status_code == 400


def test_unprintable_input_is_refused_on_pages_the_api_and_forms(client):
    assert client.get("/?state=N%00Y").status_code == 400
    answer = APIClient().get("/api/groups/?state=%01NY")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_characters"
    posted = client.post("/accounts/login/", {"login": "ana@example.test\x00", "password": "x"})
    assert posted.status_code == 400
    assert client.get("/?state=NY").status_code == 200  # ordinary input is untouched
