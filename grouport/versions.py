"""The version of a published text that applies now (the group agreement, the telehealth
consent): asked on every reservation, changed rarely, so read once and kept in the cache.

Each text is a model with ``version`` and ``published_at``; the newest version published by
now applies. It is kept in the shared cache under a generation that every saved version
moves on once it commits (``forget``), so a reader that raced the save can only have cached
the old version under the old generation, which nobody asks for again; and never past the
next version's publication time, nor for more than ten minutes (a Redis outage keeps each
process's own copy). The first version ships with the code; on a database emptied since, it
is published again rather than leaving members nothing to read.
"""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone


@dataclass(frozen=True)
class PublishedText:
    name: str  # in cache keys: "agreement", "consent"
    model: type[models.Model]
    first_version: Callable[[], dict]  # version 1's fields, from the code
    cache_seconds: int = 10 * 60

    @property
    def generation_key(self) -> str:
        return f"versions:{self.name}:generation"

    def _key(self) -> str:
        return f"versions:{self.name}:current:{cache.get(self.generation_key, 0)}"

    def current(self, now: dt.datetime | None = None) -> models.Model:
        """The newest version published by ``now``."""
        now = now or timezone.now()
        key = self._key()
        cached = cache.get(key)
        if cached is not None:
            version, valid_until = cached
            if valid_until is None or now < valid_until:
                return version
        version = self.model.objects.filter(published_at__lte=now).order_by("-version").first()
        if version is None:
            fields = self.first_version()
            fields.setdefault("published_at", now)  # published as of this ask, not a moment after
            version, _created = self.model.objects.get_or_create(
                version=fields.pop("version"), defaults=fields
            )
        upcoming = (
            self.model.objects.filter(published_at__gt=now)
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        )
        cache.set(key, (version, upcoming), timeout=self.cache_seconds)
        return version

    def forget(self, **_kwargs) -> None:
        """A version was saved (or the database migrated or emptied): the next ask reads the
        database, under a new generation."""
        try:
            cache.incr(self.generation_key)
        except ValueError:  # no generation yet (or it was evicted): start one nobody has used
            cache.set(self.generation_key, time.time_ns(), timeout=None)

    def forget_on_commit(self, **_kwargs) -> None:
        # Once the change commits: a reader before that reads (and may cache) the old version
        # under the old generation; every reader after it starts the new one.
        transaction.on_commit(self.forget)

    def watch(self) -> None:
        """Forget the cached version whenever one is saved or deleted (call from ``ready``)."""
        uid = f"versions.{self.name}"
        post_save.connect(self.forget_on_commit, sender=self.model, weak=False, dispatch_uid=f"{uid}.saved")
        post_delete.connect(
            self.forget_on_commit, sender=self.model, weak=False, dispatch_uid=f"{uid}.deleted"
        )
