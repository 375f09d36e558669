"""Test mail backends."""

from django.core.mail.backends.locmem import EmailBackend


class FlakyBackend(EmailBackend):
    """Fails the first ``failures`` sends with an SMTP-like error, then delivers to the outbox."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).failures > 0:
            type(self).failures -= 1
            raise ConnectionRefusedError("smtp server unavailable")
        return super().send_messages(messages)
