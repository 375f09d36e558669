import pytest

from enrollment.services.reservations import Attestations

ALL_TRUE = Attestations(residence=True, location=True, agreement=True)
ATTEST_JSON = {"attest_residence": True, "attest_location": True, "accept_agreement": True}


@pytest.fixture
def attest() -> Attestations:
    return ALL_TRUE
