"""Payment services."""

from django.core.exceptions import PermissionDenied

from billing.providers import OfflineProvider, payment_provider_for
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_confirm
from grouport.models import User


def offline_payment_complete(*, reservation: Reservation, member: User) -> Reservation:
    """Take the test-mode payment for a held seat and confirm it (offline provider only)."""
    if reservation.member_id != member.pk:
        raise PermissionDenied
    if not isinstance(payment_provider_for(reservation), OfflineProvider):
        raise PermissionDenied("Offline payments are off: a payment service is configured.")
    return reservation_confirm(reservation=reservation, actor=member)
