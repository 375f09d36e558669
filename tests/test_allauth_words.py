"""allauth's words in our voice: each listed msgid is one allauth still uses, and ours says it in Spanish."""

import gettext
from pathlib import Path

import allauth
import pytest
from django.utils import translation

from grouport.allauth_words import ALLAUTH_WORDS

pytestmark = pytest.mark.sqlite
ROOT = Path(__file__).resolve().parent.parent


def msgids(mo: Path) -> set[str]:
    """Every msgid of a compiled catalog (context and plural forms reduced to the msgid)."""
    with mo.open("rb") as file:
        catalog = gettext.GNUTranslations(file)._catalog
    found = set()
    for key in catalog:
        msgid = key[0] if isinstance(key, tuple) else key
        found.add(msgid.split("\x04")[-1])
    return found


def test_every_word_is_one_allauth_still_asks_to_be_translated():
    # An allauth upgrade that rewords a string would leave our translation unused, and members
    # would read allauth's own Spanish (tú) or English on that page without anyone noticing.
    theirs = msgids(Path(allauth.__file__).parent / "locale" / "es" / "LC_MESSAGES" / "django.mo")
    assert len(ALLAUTH_WORDS) == len(set(ALLAUTH_WORDS)) > 100
    assert [word for word in ALLAUTH_WORDS if word not in theirs] == []


def test_every_word_has_our_spanish_and_that_is_what_members_read():
    ours = msgids(ROOT / "locale" / "es" / "LC_MESSAGES" / "django.mo")
    assert [word for word in ALLAUTH_WORDS if word not in ours] == []
    with open(ROOT / "locale" / "es" / "LC_MESSAGES" / "django.mo", "rb") as file:
        catalog = gettext.GNUTranslations(file)
    with translation.override("es"):
        for word in ALLAUTH_WORDS:
            assert translation.gettext(word) == catalog.gettext(word), word  # ours wins over allauth's
