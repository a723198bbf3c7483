"""The cache, which must never take a page down with it.

Redis is the cache's home, but nothing the app keeps there is a record: a Redis outage
must leave charting, pages, sessions (in PostgreSQL) and the API working. This backend
turns a connection error into a miss (reads) or a no-op (writes), logged once per call,
and ``/healthz`` reports Redis as down meanwhile.
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _degrades(default_from=None, default=None):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as error:
                logger.warning("cache unavailable (%s): %s", method.__name__, type(error).__name__)
                if default_from is not None:
                    return default_from(args, kwargs)
                return default

        return wrapper

    return decorate


def _given_default(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class ResilientRedisCache(RedisCache):
    """Django's Redis cache that answers "nothing cached" while Redis is unreachable."""

    get = _degrades(default_from=_given_default)(RedisCache.get)
    get_many = _degrades(default={})(RedisCache.get_many)
    has_key = _degrades(default=False)(RedisCache.has_key)
    add = _degrades(default=False)(RedisCache.add)
    set = _degrades(default=None)(RedisCache.set)
    set_many = _degrades(default=[])(RedisCache.set_many)
    touch = _degrades(default=False)(RedisCache.touch)
    delete = _degrades(default=False)(RedisCache.delete)
    delete_many = _degrades(default=None)(RedisCache.delete_many)
    incr = _degrades(default=None)(RedisCache.incr)
    clear = _degrades(default=None)(RedisCache.clear)
