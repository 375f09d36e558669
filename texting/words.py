"""What texts say, in the member's language, and the keywords people reply with.

Every text names us ("grouport:"), no member and nothing clinical: a text shows on a lock
screen, in a shared phone's inbox, and passes through carriers. The carriers' rules (CTIA's
Messaging Principles) ask the opt-in to say who texts, how often, how to stop and get help,
and that rates may apply; STOP, START and HELP work at any time.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

# Twilio's own opt-out words (its default handling), and the Spanish ones our members use.
STOP_WORDS = {
    "en": {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"},
    "es": {"PARAR", "ALTO", "DETENER", "BAJA", "CANCELAR", "PARE"},
}
START_WORDS = {
    "en": {"START", "YES", "UNSTOP"},
    "es": {"COMENZAR", "INICIAR", "ALTA", "SI", "SÍ", "REANUDAR"},
}
HELP_WORDS = {"en": {"HELP", "INFO"}, "es": {"AYUDA"}}


def keyword(body: str) -> tuple[str, str | None] | None:
    """Return (``stop`` | ``start`` | ``help``, the keyword's language) for a reply that is one
    of the keywords (alone, any case, with punctuation around it), else ``None``."""
    word = body.strip().strip(".!¡¿?\"'").upper()
    for name, words in (("stop", STOP_WORDS), ("start", START_WORDS), ("help", HELP_WORDS)):
        for language, options in words.items():
            if word in options:
                return name, language
    return None


def _in(language: str | None, make) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return make()


def opt_in_words(language: str | None = None) -> str:
    """What the member agrees to when they turn texts on (kept with their choice)."""
    return _in(
        language,
        lambda: _(
            "Yes, text me reminders before my sessions at this number. grouport sends about one "
            "text per session, and one now to confirm. Reply STOP to opt out, HELP for help. "
            "Message and data rates may apply. Texts are not needed to join a group."
        ),
    )


def confirmation_text(language: str | None) -> str:
    return _in(
        language,
        lambda: _(
            "grouport: You will get a text before each of your sessions (about one per session). "
            "Reply HELP for help, STOP to opt out. Msg & data rates may apply."
        ),
    )


def stop_text(language: str | None) -> str:
    return _in(
        language,
        lambda: _(
            "grouport: You will get no more texts from us. Reply START to get them again. "
            "If you need help now, call or text 988."
        ),
    )


def start_text(language: str | None) -> str:
    return _in(
        language,
        lambda: _(
            "grouport: Texts are on again. Reply HELP for help, STOP to opt out. Msg & data rates may apply."
        ),
    )


def start_unknown_text(language: str | None) -> str:
    """START from a number no member asked reminders at: it may be texted again, and how to ask."""
    return _in(
        language,
        lambda: _(
            "grouport: This number may get our texts again. To get session reminders, turn them "
            "on in your profile. Reply STOP to opt out."
        ),
    )


def help_text(language: str | None) -> str:
    return _in(
        language,
        lambda: (
            _(
                "grouport session reminders. Help: %(email)s or %(site)s/help/. If you need help now, "
                "call or text 988. Reply STOP to opt out. Msg & data rates may apply."
            )
            % {"email": settings.CONTACT_EMAIL, "site": settings.SITE_URL}
        ),
    )


def unread_text(language: str | None) -> str:
    return _in(
        language,
        lambda: _(
            "grouport: This number cannot read replies, so we have told our team. If you need "
            "help now, call or text 988."
        ),
    )


def reminder_text(language: str | None, *, time: str, link: str) -> str:
    return _in(
        language,
        lambda: (
            _("grouport: Your group meets at %(time)s. Join: %(link)s Reply STOP to opt out.")
            % {"time": time, "link": link}
        ),
    )
