"""Phone numbers: parsed and validated by phonenumbers, stored in E.164."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "US"


def phone_e164(value: str) -> str:
    """Return ``value`` as E.164 (+12125550123), or raise ``ValidationError``.

    A number without a country code is read as a US one; any valid number in the world is
    accepted (an emergency contact may live abroad).
    """
    text = (value or "").strip()
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a phone number we can call, such as 212 555 0123."), code="phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a phone number we can call, such as 212 555 0123."), code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """A stored number as people read it ((212) 555-0123 at home, +44 20 … abroad)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
