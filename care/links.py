"""A member's personal link to one questionnaire: signed, names one row (like a join link,
under its own salt, so neither can stand in for the other)."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SURVEY_SALT = "grouport.survey"


class BadSurveyToken(Exception):
    """Not a questionnaire link we made (forged, altered or cut short)."""


def survey_token(survey_id: int) -> str:
    return signing.Signer(salt=SURVEY_SALT).sign(str(survey_id))


def survey_token_read(token: str) -> int:
    try:
        return int(signing.Signer(salt=SURVEY_SALT).unsign(token))
    except (signing.BadSignature, ValueError) as exc:
        raise BadSurveyToken() from exc


def survey_path(survey_id: int) -> str:
    return reverse("care:survey", args=[survey_token(survey_id)])


def survey_url(survey_id: int) -> str:
    return f"{settings.SITE_URL}{survey_path(survey_id)}"
