from celery import shared_task
from django.utils import timezone

from inventory import services


@shared_task(name="inventory.daily_stock_check")
def daily_stock_check() -> None:
    """Expired, expiring and low stock to the nurses; safe to run twice (one notification
    per subject and nurse)."""
    now = timezone.now()
    services.stock_daily_check(today=timezone.localdate(now), now=now)
