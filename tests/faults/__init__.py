"""The fault suite: the product's real servers (gunicorn, Celery, PostgreSQL, Redis, a fake
Stripe) in subprocesses, one fault at a time, and the invariants checked after each."""
