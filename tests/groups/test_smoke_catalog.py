import pytest

from tests.factories import GroupFactory, licensed_therapist


@pytest.mark.django_db
@pytest.mark.sqlite
def test_catalog_page_lists_a_published_group(client):
    GroupFactory(title="Tuesday DBT", therapist=licensed_therapist("NY"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Tuesday DBT" in response.content
    assert b"988" in response.content
