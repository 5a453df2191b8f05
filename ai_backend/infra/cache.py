"""The Redis connection used for caching (Celery keeps its own), and channel subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0


def make_redis(url: str, *, max_connections: int) -> Redis:
    # A blocking pool waits for a free connection under load instead of raising.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=2,
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=30,
        # A pooled connection that Redis dropped (a restart, an idle timeout) fails its next
        # command once: retry it on a fresh connection, at once, rather than fail the request.
        retry_on_error=[RedisConnectionError],
    )
    return Redis(connection_pool=pool)


async def follow_channel(
    redis: Redis,
    channel: str,
    on_message: Callable[[str], None],
    *,
    on_subscribed: Callable[[], Awaitable[None]],
    on_lost: Callable[[], None],
    reconnect_seconds: float,
) -> None:
    """Run until cancelled: subscribe to `channel` and hand each message to `on_message`.

    `on_subscribed` runs once the subscription is live (whatever was published before it may
    have been missed); `on_lost` runs whenever it ends, and it is made again after
    `reconnect_seconds`.
    """
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            await on_subscribed()
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is not None:
                    data = message["data"]
                    on_message(data.decode() if isinstance(data, bytes) else str(data))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            on_lost()
            logger.debug("subscription to %s lost: %s", channel, exc)
            await asyncio.sleep(reconnect_seconds)
        finally:
            on_lost()
            # Closing can wait forever on a connection the server dropped (redis-py #3941).
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_SECONDS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
