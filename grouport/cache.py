"""The shared cache, and what happens when Redis is down: limits keep counting, per process.

Sign-in limits live in the cache. django-redis can raise on an outage (every sign-in an
error) or swallow it (its "add" then answers False, allauth reads that as "someone else
holds the lock" and every sign-in, the right password too, gets 429). Neither is right for
people who may be in distress, nor for a clinic's records.

So on a connection error this cache answers from a memory cache of its own process for a
while (``RETRY_AFTER`` seconds, then it tries Redis again), and logs that it did. Limits
still hold, per process: with W web processes an account allows at most W times its usual
guesses during an outage, which the logs show. The only other thing kept in the cache is a
copy of the current group agreement (``enrollment.selectors.agreement_current``): keyed by
a generation that every saved version moves on, and kept ten minutes at most, so an outage
can make it at most ten minutes stale. Sessions are in the database: nothing is lost when
Redis comes back.
"""

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER = 15.0
OUTAGE = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError, OSError)


class FailoverRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._ignore_exceptions = False  # we handle them: see the module's docstring
        self._fallback = LocMemCache(f"grouport-failover-{id(self)}", {"OPTIONS": {"MAX_ENTRIES": 10000}})
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except OUTAGE as exc:
                with self._lock:
                    self._down_until = time.monotonic() + RETRY_AFTER
                logger.error(
                    "cache: Redis unreachable (%s); counting in this process for %ss",
                    type(exc).__name__,
                    RETRY_AFTER,
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def decr(self, *args, **kwargs):
        return self._call("decr", *args, **kwargs)

    def get_or_set(self, *args, **kwargs):
        return self._call("get_or_set", *args, **kwargs)

    def clear(self, *args, **kwargs):
        return self._call("clear", *args, **kwargs)
