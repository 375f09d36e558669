"""FastSelect: Django's own <select> HTML, rendered once per language, labels never mixed up."""

import re

import pytest
from django.utils import translation

from grouport.forms import ProfileForm
from groups.forms import CatalogFilterForm

pytestmark = pytest.mark.sqlite


def test_two_lists_of_the_same_zones_keep_their_own_blank_option():
    """The catalog's "My own time" and the profile's "The usual one for my state" share every
    zone: the first one drawn once set the label for both."""
    for language, catalog_blank, profile_blank in (
        ("en", "My own time", "The usual one for my state"),
        ("es", "Mi propia hora", "La habitual de mi estado"),
    ):
        with translation.override(language):
            for _ in range(2):
                catalog = str(CatalogFilterForm(None)["tz"])
                profile = str(ProfileForm()["time_zone"])
                assert re.search(rf'<option value=""( selected)?>{catalog_blank}</option>', catalog)
                assert re.search(rf'<option value=""( selected)?>{profile_blank}</option>', profile)


def test_the_chosen_option_is_selected_and_values_are_escaped():
    form = CatalogFilterForm({"tz": "America/Chicago", "state": "FL"})
    html = str(form["tz"])
    assert html.count(" selected") == 1 and '<option value="America/Chicago" selected>' in html
    assert '<option value="FL" selected>' in str(form["state"])
    assert html.startswith('<select name="tz" id="id_tz">') or 'name="tz"' in html.split(">")[0]
