import pytest

from enrollment.services.reservations import Attestations
from tests.factories import ALL_TRUE


@pytest.fixture
def attest() -> Attestations:
    return ALL_TRUE
