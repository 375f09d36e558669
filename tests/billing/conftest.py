"""Billing tests share the fake Stripe fixture from tests/conftest.py."""
