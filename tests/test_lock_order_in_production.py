"""The lock order outside tests: production logs a lock out of order rather than failing a request."""

import logging

import pytest
from django.db import transaction

from grouport.locks import lock_order_check

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_in_production_a_lock_out_of_order_is_logged_and_the_work_goes_on(settings, caplog):
    settings.LOCK_ORDER_STRICT = False  # as PRODUCTION sets it
    with caplog.at_level(logging.ERROR, logger="grouport.locks"):
        with transaction.atomic():
            lock_order_check("payment", 7)
            lock_order_check("group", 2)  # out of order: logged, not raised
        with transaction.atomic():
            lock_order_check("group", 2)
            lock_order_check("group", 1)  # rows of one kind by descending id
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "lock order broken: a group lock after a payment lock",
        "lock order broken: group 1 after group 2 (rows of one kind go by ascending id)",
    ]
    assert all(r.levelno == logging.ERROR for r in caplog.records)


def test_a_lock_kind_missing_from_the_order_is_refused_even_in_production(settings):
    settings.LOCK_ORDER_STRICT = False
    with transaction.atomic(), pytest.raises(ValueError, match=r"add it to grouport\.locks\.LOCK_ORDER"):
        lock_order_check("invoice", 1)


def test_outside_a_transaction_there_is_no_order_to_keep(settings, caplog):
    # Each statement commits on its own there, and its lock goes with it.
    settings.LOCK_ORDER_STRICT = True
    with caplog.at_level(logging.ERROR, logger="grouport.locks"):
        lock_order_check("payment", 7)
        lock_order_check("group", 2)
    assert caplog.records == []
