"""Celery entry points of printing: load by id, call one service (printing.services)."""

from celery import shared_task
from django.utils import timezone

from printing import services as printing


@shared_task(name="printing.prerender_resident_months")
def prerender_resident_months() -> int:
    """Find the residents whose current month changed since its last render; one render
    task each, so both worker processes share the work."""
    stale = printing.resident_months_stale(now=timezone.now())
    for resident_id, month_key in stale:
        render_resident_month.delay(resident_id, month_key)
    return len(stale)


@shared_task(name="printing.render_resident_month")
def render_resident_month(resident_id: int, month_key: str) -> None:
    printing.resident_month_prerender(
        resident_id=resident_id, month_key=month_key, now=timezone.now()
    )


@shared_task(name="printing.render_community_month")
def render_community_month(job_id: int) -> None:
    for part_id in printing.community_month_start(job_id=job_id, now=timezone.now()):
        render_community_part.delay(part_id)


@shared_task(name="printing.render_community_part")
def render_community_part(part_id: int) -> None:
    printing.community_part_render(part_id=part_id, now=timezone.now())


@shared_task(name="printing.merge_community_month")
def merge_community_month(job_id: int) -> None:
    printing.community_month_merge(job_id=job_id, now=timezone.now())


@shared_task(name="printing.refresh_downtime_sheets")
def refresh_downtime_sheets() -> int:
    return printing.downtime_sheets_refresh(now=timezone.now())


@shared_task(name="printing.prune_print_files")
def prune_print_files() -> int:
    return printing.print_files_prune(now=timezone.now())
