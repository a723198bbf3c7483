"""The Celery app, and how the web process hands work to it.

Every task is idempotent and derived from the database (reminders, missed doses, prints
that a worker lost are found again by the next beat run or the next request), so a
message may be delivered twice (``acks_late``, ``task_reject_on_worker_lost``) and a
message that could not be sent is delayed work, never lost work. ``enqueue`` is what a
request uses: with the broker down it logs and returns False instead of failing the
request that already committed its records.
"""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtech.settings")

app = Celery("medtech")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> bool:
    """Send ``task`` now (ids only, never PHI); False if the broker is unreachable."""
    try:
        # Nobody in a request waits for the result: not subscribing to it keeps a Redis
        # outage down to the broker's short retry policy.
        task.apply_async(args=args, kwargs=kwargs, ignore_result=True)
    except Exception as error:  # kombu/redis raise many kinds; none may reach the user
        logger.warning(
            "could not enqueue %s (%s); it runs when the broker is back",
            task.name,
            type(error).__name__,
        )
        return False
    return True
