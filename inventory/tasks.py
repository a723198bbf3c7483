from celery import shared_task
from django.utils import timezone

from inventory import services


@shared_task(name="inventory.daily_stock_check")
def daily_stock_check() -> None:
    now = timezone.now()
    services.stock_check_expiry(today=timezone.localdate(now), now=now)
