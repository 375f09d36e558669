import pytest

from tests import fake_stripe


@pytest.fixture
def stripe_fake(settings):
    """The real ``stripe`` library pointed at the fake server; Stripe is the provider."""
    fake, server = fake_stripe.start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = fake_stripe.WEBHOOK_SECRET
    yield fake
    server.shutdown()
    server.server_close()
