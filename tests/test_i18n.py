"""English and Spanish: chosen from the browser, switchable, kept on the profile, used for
emails; the catalog complete and compiled; and the crisis line at the top of every email."""

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import translation
from rest_framework.test import APIClient

from attendance.services.reminders import reminder_deliver, reminders_claim_due
from grouport.emails import email_render
from grouport.models import User
from tests.factories import GroupFactory, licensed_therapist, member, seated

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
IGNORE = [".venv", "var", "tests", "bench", "staticfiles", "node_modules"]


def msgfmt_statistics(po: Path) -> dict[str, int]:
    """Count translated, fuzzy and untranslated messages with GNU msgfmt (what compiles them)."""
    out = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=True
    ).stderr
    counts = {"translated": 0, "fuzzy": 0, "untranslated": 0}
    for number, word in re.findall(r"(\d+) (translated|fuzzy|untranslated)", out):
        counts[word] = int(number)
    return counts


# --- The catalog: complete, and compiled from what is in the repo


def test_makemessages_finds_no_member_facing_string_without_spanish(tmp_path, monkeypatch):
    """Extract every string again, as `make messages` would: any msgid added to a template or to
    code without a Spanish msgstr shows up as untranslated (or fuzzy).

    makemessages writes to the ``locale/`` directory nearest each source file, which is the
    repository's own: the catalog is extracted there and put back as it was afterwards, so the
    count is of what the code asks for today (a copy elsewhere would not be written to, and the
    test could never fail)."""
    kept = tmp_path / "django.po"
    shutil.copy(PO, kept)
    monkeypatch.chdir(ROOT)
    try:
        call_command("makemessages", locale=["es"], ignore_patterns=IGNORE, no_obsolete=True, verbosity=0)
        counts = msgfmt_statistics(PO)
    finally:
        shutil.copy(kept, PO)
    assert counts["translated"] > 500
    assert counts["untranslated"] == 0 and counts["fuzzy"] == 0, (
        f"{counts}: run `make messages` and translate the new strings in {PO.relative_to(ROOT)}"
    )


def test_the_compiled_catalog_is_the_one_in_the_repo(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == MO.read_bytes(), "run `make messages`: django.mo is stale"


def test_allauths_pages_speak_usted_not_tu():
    with translation.override("es"):
        assert translation.gettext("Forgot your password?") == "¿Olvidó su contraseña?"
        assert translation.gettext("Remember Me") == "Recordarme en este dispositivo"
        assert "inténtelo" in translation.gettext("Too many failed login attempts. Try again later.")


# --- Chosen from the browser, switchable, remembered


def test_accept_language_spanish_gives_spanish_pages(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="es">' in page and "Grupos de DBT en línea" in page
    assert "¿Necesita ayuda ahora? Llame o escriba al 988" in page
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="en">' in english and "Online DBT groups" in english


def test_the_switch_turns_the_site_back_and_saves_a_members_choice(client):
    alex = member()
    client.force_login(alex)
    answer = client.post("/language/", {"language": "es", "next": "/my/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302 and answer.url == "/my/"
    assert User.objects.get(pk=alex.pk).language == "es"
    assert "Mis grupos" in client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post("/language/", {"language": "en", "next": "/my/"})
    assert User.objects.get(pk=alex.pk).language == "en"
    page = client.get("/my/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en">' in page and "My groups" in page


def test_a_members_saved_language_follows_them_to_another_device(client):
    alex = member(language="es")
    client.force_login(alex)  # a new browser: no language cookie, English Accept-Language
    assert '<html lang="es">' in client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_switch_never_redirects_off_the_site(client):
    answer = client.post("/language/", {"language": "es", "next": "https://evil.example/"})
    assert answer.url == "/"


def test_api_errors_speak_the_requests_language():
    answer = APIClient().post(
        "/api/auth/token/", {"email": "nobody@example.test", "password": "x"}, format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["detail"] == "El correo electrónico o la contraseña no son correctos."
    assert answer.json()["code"] == "invalid_credentials"  # codes stay English: clients match on them


# --- Emails in the member's language, the crisis line first


def seated_member(**who):
    group = GroupFactory(
        starts_on=dt.date(2026, 3, 3), weekday=1, start_time=dt.time(19, 0), price=Decimal("0"),
        therapist=licensed_therapist("NY"), weeks=2,
    )  # fmt: skip
    reservation = seated(group, **who)
    return group, reservation.member, reservation


def test_a_spanish_members_reminder_is_in_spanish():
    group, ana, _reservation = seated_member(language="es")
    session = group.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        for reminder_id in reminders_claim_due():
            reminder_deliver(reminder_id=reminder_id)
    [message] = [m for m in mail.outbox if m.to == [ana.email]]
    assert message.subject == "Recordatorio: su grupo se reúne hoy a las 19:00"
    assert message.body.startswith("¿Necesita ayuda ahora? Llame al 988 y marque 2")
    assert "Martes 3 de marzo, 19:00" in message.body and "Su propio enlace para unirse" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="es">' in html and "¿Necesita ayuda ahora?" in html


def test_an_english_members_reminder_stays_english():
    group, sam, _reservation = seated_member()
    session = group.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        for reminder_id in reminders_claim_due():
            reminder_deliver(reminder_id=reminder_id)
    [message] = [m for m in mail.outbox if m.to == [sam.email]]
    assert message.subject == "Reminder: your group meets today at 7:00 PM"


# Every email to a member (those with an HTML part; staff's alerts are plain text).
EMAIL_TEMPLATES = sorted(
    p.name.removesuffix(".html")
    for p in (ROOT / "templates" / "emails").glob("*.html")
    if not p.name.startswith("_") and p.name != "base.html"
)
HELP_FIRST = {"en": "Need help now? Call or text 988", "es": "¿Necesita ayuda ahora? Llame"}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("template", EMAIL_TEMPLATES)
def test_every_email_opens_with_the_crisis_line(template, language):
    group, person, reservation = seated_member()
    context = {
        "member": person, "member_tz": "America/New_York", "group": group, "reservation": reservation,
        "session": group.sessions.first(), "kind": "24h", "when": "today",
    }  # fmt: skip
    with translation.override(language):
        _subject, text, html = email_render(template=template, context=context)
    first_line = text.strip().splitlines()[0]
    assert first_line.startswith(HELP_FIRST[language]) and "988" in first_line, (template, first_line)
    assert "/help/" in first_line and "911" in first_line
    body = html.split("<body", 1)[1]
    first_paragraph = body[: body.index("</p>")]
    assert "/help/" in first_paragraph and "988" in first_paragraph, template
    assert f'<html lang="{language}">' in html


def test_allauths_account_emails_open_with_the_crisis_line_too(client, settings):
    alex = member()
    client.post("/accounts/password/reset/", {"email": alex.email}, HTTP_ACCEPT_LANGUAGE="en")
    first_line = mail.outbox[-1].body.strip().splitlines()[0]
    assert first_line.startswith("Need help now? Call or text 988")
    assert first_line.endswith(f"{settings.SITE_URL}/help/")  # a link that works from a mail app
    client.post("/accounts/password/reset/", {"email": alex.email}, HTTP_ACCEPT_LANGUAGE="es")
    assert mail.outbox[-1].body.startswith("¿Necesita ayuda ahora?")
    assert "Restablecer la contraseña" in mail.outbox[-1].subject


# --- Members from before languages, and the first page after signing in


def test_a_member_with_no_saved_language_gets_the_one_they_read_in(client):
    ana = member(language="")
    client.force_login(ana)
    client.get("/my/", HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    assert User.objects.get(pk=ana.pk).language == "es"  # so their emails are in Spanish too
    profile = client.get("/account/profile/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert re.search(r'<option value="es"[^>]*selected', profile)  # saving keeps Spanish


def test_the_profile_offers_the_page_language_when_none_is_saved():
    from grouport.forms import ProfileForm

    with translation.override("es"):
        form = ProfileForm(instance=User(language=""))
    assert form.initial["language"] == "es"


def test_signing_in_switches_to_the_members_language_at_once(client):
    ana = member(language="es")
    credentials = {"login": ana.email, "password": "correct horse battery"}
    answer = client.post("/accounts/login/", credentials, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    page = answer.content.decode()
    assert '<html lang="es">' in page and "Signed in as" not in page and "Successfully signed in" not in page


def test_spanish_pages_write_prices_and_statuses_as_us_spanish(client):
    _group, _ana, reservation = seated_member(language="es")
    GroupFactory(title="Paid", price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    catalog = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "$320.00" in catalog and "$320,00" not in catalog
    with translation.override("es"):
        assert str(reservation.Status.CANCELLED.label) == "Cancelada"
        assert translation.gettext("Wednesday") == "miércoles"  # mid-sentence, lower case


def test_account_emails_are_ours_and_link_to_site_url_whatever_the_host(client, settings):
    settings.SITE_URL = "https://groups.example.org"
    client.post("/accounts/password/reset/", {"email": "nobody@example.test"}, HTTP_HOST="127.0.0.1")
    body = mail.outbox[-1].body
    assert "https://groups.example.org/accounts/signup/" in body
    assert "127.0.0.1" not in body and "in our database" not in body
