"""Email to one member: plain text and HTML, always with the crisis resources.

Every message goes to a single recipient (never a list of members), so no member ever
sees another's address.
"""

import html
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from grouport.models import User

logger = logging.getLogger(__name__)


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return (subject, text, html) for ``emails/<template>.{subject.txt,txt,html}``."""
    context = {"site_url": settings.SITE_URL, **context}
    # A subject is plain text: undo the HTML escaping templates apply ("couldn&#x27;t").
    subject = html.unescape(render_to_string(f"emails/{template}.subject.txt", context)).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    body_html = render_to_string(f"emails/{template}.html", context)
    return subject, text, body_html


def email_send(
    *, to: User, template: str, context: dict[str, Any], attachments: list[tuple[str, bytes, str]] = ()
) -> None:
    """Send one templated email to ``to``, in their language and their time zone."""
    member_tz = to.zone
    with translation.override(to.language or settings.LANGUAGE_CODE):
        subject, text, body_html = email_render(
            template=template, context={"member": to, "member_tz": member_tz, **context}
        )
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to.email])
    message.attach_alternative(body_html, "text/html")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    message.send()
    logger.info("email %s sent to user %s", template, to.pk)
