"""The queues other apps fill (holds, clearinghouse rejections, pickups): the registry
lives in ``core.queues`` so that the apps below the cockpit (hme, dme) can fill it
from their ``AppConfig.ready()`` without importing the cockpit. Re-exported here for
the dashboards."""

from core.queues import (
    KNOWN,
    Provider,
    QueueItem,
    provide,
    provided,
    provider_of,
    queue_count,
    queue_item,
    withdraw,
)

__all__ = [
    "KNOWN",
    "Provider",
    "QueueItem",
    "provide",
    "provided",
    "provider_of",
    "queue_count",
    "queue_item",
    "withdraw",
]
