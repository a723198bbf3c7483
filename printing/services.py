"""Printing: rendered documents in media storage, and reuse of the unchanged ones.

Every document is a ``PrintJob`` row with a file and the fingerprint of what it
shows (``printing.render.fingerprint``). Asking for a document first builds its data
(cheap: a fixed number of queries), hashes it, and returns the ready row with that
hash when there is one; only a changed record is rendered again. The database keeps
one document per content (unique constraints), so two workers rendering the same
thing at once end with one row: the loser deletes its file and takes the winner's.

- A resident's month renders in the request or in a Celery task, one resident per
  document (WeasyPrint slows down per page on long documents, and a worker's memory
  stays flat). ``resident_months_stale`` finds the residents whose current month
  changed since its last render; a beat job renders them ahead.
- The whole community is one job with a part per resident: each part is a
  resident's month (reused when unchanged, rendered by a worker when not); when the
  last part is done the parts are merged page by page with pypdf.
- A cart's downtime sheet covers the 24 hours from the start of the current shift
  and is renewed by a beat job; the page serves the newest ready file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from inventory.models import MedCart
from mar.models import PrintJob, PrintJobPart
from medtech.celery import app, enqueue
from medtech.core.errors import Invalid, NotPermitted
from printing import render
from printing.selectors import (
    DOWNTIME_SPAN,
    Month,
    MonthlyMar,
    can_print_records,
    carts_for_downtime,
    count_sheet,
    downtime_sheet,
    monthly_mars,
    residents_for_month,
    shift_start,
)
from residents.models import Facility, Resident
from staff.models import User

logger = logging.getLogger(__name__)

# Residents whose month is built and hashed at a time: bounds the memory of a check.
BATCH = 20
# In the first days of a month last month's record still changes (late entries up to
# 24 hours back, amendments): it stays pre-rendered alongside the current one.
PREVIOUS_MONTH_DAYS = 3
# Superseded pre-renders are deleted after this long (a requested file is kept).
KEEP_SUPERSEDED = dt.timedelta(days=2)
KEEP_SHEETS = dt.timedelta(days=7)
# A whole-community print still not done after this long is given up (workers render
# 120 residents in well under 10 minutes even from cold).
GIVE_UP_AFTER = dt.timedelta(minutes=30)


class PrintError(Invalid):
    """A document cannot be printed; the message says why."""


class PrintNotPermitted(NotPermitted, PrintError):
    pass


# --- Storing a rendered document ------------------------------------------------------------


def _store(job: PrintJob, *, pdf: bytes | File, pages: int, digest: str, now: dt.datetime):
    """Save the file and the row as ready. If an equal document won a race for the
    unique constraint, drop this one and return the winner."""
    job.fingerprint = digest
    job.page_count = pages
    job.status = PrintJob.Status.READY
    job.finished_at = now
    content = ContentFile(pdf) if isinstance(pdf, bytes) else pdf
    job.file.save(f"{job.kind}-{job.public_id}.pdf", content, save=False)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        job.file.delete(save=False)
        winner = _ready_document(job=job)
        if winner is None:
            raise
        return winner
    return job


def _ready_document(*, job: PrintJob) -> PrintJob | None:
    """The ready document with the same subject and content as ``job``, if any."""
    return (
        PrintJob.objects.filter(
            kind=job.kind,
            facility_id=job.facility_id,
            resident_id=job.resident_id,
            cart_id=job.cart_id,
            month=job.month,
            covers_from=job.covers_from,
            covers_until=job.covers_until,
            fingerprint=job.fingerprint,
            status=PrintJob.Status.READY,
        )
        .order_by("id")
        .first()
    )


# --- One resident's month ------------------------------------------------------------------


def resident_month_document(
    *, resident: Resident, month: Month, now: dt.datetime, requested_by: User | None = None
) -> PrintJob:
    """The resident's monthly MAR as a ready document: the one already rendered when the
    record has not changed since, else rendered now."""
    mar = monthly_mars(residents=[resident], month=month, now=now)[0]
    return _resident_document(mar=mar, resident=resident, now=now, requested_by=requested_by)


def _resident_document(
    *, mar: MonthlyMar, resident: Resident, now: dt.datetime, requested_by: User | None
) -> PrintJob:
    digest = render.fingerprint(mar)
    existing = (
        PrintJob.objects.filter(
            kind=PrintJob.Kind.RESIDENT_MONTH,
            resident=resident,
            month=mar.month.first_day,
            fingerprint=digest,
            status=PrintJob.Status.READY,
        )
        .order_by("id")
        .first()
    )
    if existing is not None:
        return existing
    pdf = render.render_monthly_mar(mar, rendered_at=now)
    job = PrintJob(
        kind=PrintJob.Kind.RESIDENT_MONTH,
        facility_id=resident.facility_id,
        resident=resident,
        month=mar.month.first_day,
        requested_by=requested_by,
        requested_at=now,
        started_at=now,
    )
    return _store(job, pdf=pdf, pages=render.page_count(pdf), digest=digest, now=now)


@dataclass(frozen=True)
class ResidentMonthState:
    resident_id: int
    month: Month
    fingerprint: str
    document_id: int | None  # the ready document with this fingerprint, if any


def resident_month_states(
    *, facility: Facility, month: Month, now: dt.datetime, residents: list[Resident] | None = None
) -> Iterator[ResidentMonthState]:
    """Each resident's month as it stands: its fingerprint and the ready document that
    shows exactly that, if one exists. Built ``BATCH`` residents at a time."""
    if residents is None:
        residents = list(residents_for_month(facility=facility, month=month))
    for offset in range(0, len(residents), BATCH):
        batch = residents[offset : offset + BATCH]
        digests = {
            mar.resident_id: render.fingerprint(mar)
            for mar in monthly_mars(residents=batch, month=month, now=now)
        }
        ready = dict(
            PrintJob.objects.filter(
                kind=PrintJob.Kind.RESIDENT_MONTH,
                month=month.first_day,
                resident_id__in=list(digests),
                status=PrintJob.Status.READY,
                fingerprint__in=list(digests.values()),
            )
            .order_by("id")
            .values_list("resident_id", "id")
        )
        for resident in batch:
            yield ResidentMonthState(
                resident_id=resident.pk,
                month=month,
                fingerprint=digests[resident.pk],
                document_id=ready.get(resident.pk),
            )


def months_to_prerender(*, facility: Facility, now: dt.datetime) -> list[Month]:
    current = Month.containing(now, facility.zone)
    if now.astimezone(facility.zone).day <= PREVIOUS_MONTH_DAYS:
        return [current.previous(), current]
    return [current]


def resident_months_stale(*, now: dt.datetime) -> list[tuple[int, str]]:
    """(resident id, month key) of every resident month whose record changed since it
    was last rendered (or was never rendered), across all facilities."""
    stale = []
    for facility in Facility.objects.order_by("id"):
        for month in months_to_prerender(facility=facility, now=now):
            stale += [
                (state.resident_id, month.key)
                for state in resident_month_states(facility=facility, month=month, now=now)
                if state.document_id is None
            ]
    return stale


def resident_month_prerender(*, resident_id: int, month_key: str, now: dt.datetime) -> PrintJob:
    """Render one resident's month ahead (a beat job's part). Safe to run twice."""
    resident = Resident.objects.select_related("facility", "room__unit").get(pk=resident_id)
    return resident_month_document(resident=resident, month=Month.parse(month_key), now=now)


# --- The whole community -------------------------------------------------------------------


def _community_fingerprint(states: list[ResidentMonthState]) -> str:
    lines = "\n".join(f"{state.resident_id}:{state.fingerprint}" for state in states)
    return hashlib.sha256(f"{render.layout_digest()}\n{lines}".encode()).hexdigest()


@dataclass(frozen=True)
class CommunityRequest:
    job: PrintJob
    is_new: bool  # False: an unchanged month already printed, or a print in progress


def community_month_request(
    *, facility: Facility, month: Month, user: User, now: dt.datetime
) -> CommunityRequest:
    """Ask for the whole community's MAR for a month.

    An unchanged month that was already printed gives that job (its file) at once; a
    print of the month still in progress gives that one. Otherwise a new job with a
    part per resident: parts whose resident's month is already rendered and unchanged
    are done at once, the others are rendered by workers (enqueued on commit).
    """
    if not can_print_records(user=user, facility=facility):
        raise PrintNotPermitted("Only administrators and nurses of this community print MARs.")
    states = list(resident_month_states(facility=facility, month=month, now=now))
    if not states:
        raise PrintError(f"No residents lived at {facility.name} in {month.label}.")
    digest = _community_fingerprint(states)
    # A print whose worker vanished (e.g. the broker lost its messages) would otherwise
    # block every later one of this month: after a while it is given up.
    PrintJob.objects.filter(
        kind=PrintJob.Kind.COMMUNITY_MONTH,
        facility=facility,
        month=month.first_day,
        status__in=[PrintJob.Status.QUEUED, PrintJob.Status.RUNNING],
        requested_at__lt=now - GIVE_UP_AFTER,
    ).update(
        status=PrintJob.Status.FAILED,
        error=f"No progress for {GIVE_UP_AFTER.seconds // 60} minutes; given up.",
        finished_at=now,
    )
    ready = PrintJob.objects.filter(
        kind=PrintJob.Kind.COMMUNITY_MONTH,
        facility=facility,
        month=month.first_day,
        fingerprint=digest,
        status=PrintJob.Status.READY,
    ).first()
    if ready is not None:
        return CommunityRequest(job=ready, is_new=False)
    try:
        with transaction.atomic():
            job = PrintJob.objects.create(
                kind=PrintJob.Kind.COMMUNITY_MONTH,
                facility=facility,
                month=month.first_day,
                requested_by=user,
                requested_at=now,
                fingerprint=digest,
                parts_total=len(states),
            )
            PrintJobPart.objects.bulk_create(
                PrintJobPart(
                    job=job,
                    position=position,
                    resident_id=state.resident_id,
                    document_id=state.document_id,
                    done_at=now if state.document_id else None,
                )
                for position, state in enumerate(states)
            )
            job.parts_done = sum(1 for state in states if state.document_id)
            job.save(update_fields=["parts_done"])
            transaction.on_commit(lambda: _enqueue_community(job.pk))
    except IntegrityError:
        # A print of this month is already under way (or just finished): join it.
        running = (
            PrintJob.objects.filter(
                kind=PrintJob.Kind.COMMUNITY_MONTH, facility=facility, month=month.first_day
            )
            .filter(
                Q(status__in=[PrintJob.Status.QUEUED, PrintJob.Status.RUNNING])
                | Q(fingerprint=digest, status=PrintJob.Status.READY)
            )
            .order_by("-requested_at", "-id")
            .first()
        )
        if running is None:
            raise
        return CommunityRequest(job=running, is_new=False)
    return CommunityRequest(job=job, is_new=True)


def _enqueue_community(job_id: int) -> None:
    # By the task's name: the tasks call this module, not the other way round.
    # Broker down: the job stays queued and is given up and asked again later.
    enqueue(app.signature("printing.render_community_month"), job_id)


def community_month_start(*, job_id: int, now: dt.datetime) -> list[int]:
    """Mark the job running and return the ids of the parts still to render (the task
    enqueues one render per part). All done already: the merge is enqueued instead."""
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().get(pk=job_id)
        if job.status in (PrintJob.Status.READY, PrintJob.Status.FAILED):
            return []
        if job.status == PrintJob.Status.QUEUED:
            job.status = PrintJob.Status.RUNNING
            job.started_at = now
            job.save(update_fields=["status", "started_at"])
        todo = list(
            job.parts.filter(document__isnull=True)
            .order_by("position")
            .values_list("id", flat=True)
        )
        if not todo:
            transaction.on_commit(lambda: _enqueue_merge(job.pk))
        return todo


def _enqueue_merge(job_id: int) -> None:
    enqueue(app.signature("printing.merge_community_month"), job_id)


def community_part_render(*, part_id: int, now: dt.datetime) -> None:
    """Render (or reuse) one resident's month for a community print. The last part done
    enqueues the merge. Safe to run twice."""
    part = PrintJobPart.objects.select_related(
        "job", "resident__facility", "resident__room__unit"
    ).get(pk=part_id)
    if part.document_id is not None or part.job.status != PrintJob.Status.RUNNING:
        return
    try:
        document = resident_month_document(
            resident=part.resident, month=Month(part.job.month), now=now
        )
    except Exception as error:
        community_month_fail(job_id=part.job_id, error=f"{part.resident}: {error}", now=now)
        raise
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().get(pk=part.job_id)
        updated = PrintJobPart.objects.filter(pk=part.pk, document__isnull=True).update(
            document=document, done_at=now
        )
        if not updated:
            return
        job.parts_done = job.parts.filter(document__isnull=False).count()
        job.save(update_fields=["parts_done"])
        if job.parts_done == job.parts_total and job.status == PrintJob.Status.RUNNING:
            transaction.on_commit(lambda: _enqueue_merge(job.pk))


def community_month_merge(*, job_id: int, now: dt.datetime) -> PrintJob:
    """Merge the parts' PDFs, in order, into one file. Safe to run twice."""
    job = PrintJob.objects.select_related("facility").get(pk=job_id)
    if job.status != PrintJob.Status.RUNNING or job.parts_done != job.parts_total:
        return job
    parts = list(job.parts.select_related("document", "resident").order_by("position"))
    opened = []
    try:
        with tempfile.TemporaryFile() as target:
            merge_parts = []
            for part in parts:
                handle = part.document.file.open("rb")
                opened.append(handle)
                merge_parts.append(render.MergePart(file=handle, title=part.resident.display_name))
            pages = render.merge_pdfs(
                merge_parts,
                target=target,
                title=f"MAR {Month(job.month).label} - {job.facility.name}",
            )
            target.seek(0)
            return _store(job, pdf=File(target), pages=pages, digest=job.fingerprint, now=now)
    except Exception as error:
        community_month_fail(job_id=job.pk, error=str(error), now=now)
        raise
    finally:
        for handle in opened:
            handle.close()


def community_month_fail(*, job_id: int, error: str, now: dt.datetime) -> None:
    PrintJob.objects.filter(
        pk=job_id, status__in=[PrintJob.Status.QUEUED, PrintJob.Status.RUNNING]
    ).update(status=PrintJob.Status.FAILED, error=error[:2000] or "Failed", finished_at=now)


# --- Downtime sheets and count sheets ------------------------------------------------------


def downtime_sheet_document(
    *, cart: MedCart, now: dt.datetime, requested_by: User | None = None
) -> PrintJob:
    """The cart's downtime sheet for the current shift: reused while its doses are the
    same, rendered again when an order changed."""
    covers_from = shift_start(zone=cart.facility.zone, now=now)
    sheet = downtime_sheet(cart=cart, covers_from=covers_from)
    job = PrintJob(
        kind=PrintJob.Kind.DOWNTIME,
        facility_id=cart.facility_id,
        cart=cart,
        covers_from=covers_from,
        covers_until=covers_from + DOWNTIME_SPAN,
        requested_by=requested_by,
        requested_at=now,
        started_at=now,
        fingerprint=render.fingerprint(sheet),
    )
    if existing := _ready_document(job=job):
        return existing
    pdf = render.render_downtime_sheet(sheet, rendered_at=now)
    return _store(job, pdf=pdf, pages=render.page_count(pdf), digest=job.fingerprint, now=now)


def downtime_sheets_refresh(*, now: dt.datetime) -> int:
    """Renew every active cart's downtime sheet for the current shift (a beat job).
    Returns how many were rendered; an unchanged sheet is not rendered again."""
    rendered = 0
    for cart in carts_for_downtime():
        document = downtime_sheet_document(cart=cart, now=now)
        rendered += document.requested_at == now
    return rendered


def count_sheet_document(
    *,
    cart: MedCart,
    covers_from: dt.datetime,
    covers_until: dt.datetime,
    now: dt.datetime,
    requested_by: User,
) -> PrintJob:
    """The cart's controlled-substance counts and running logs between two instants."""
    if covers_until <= covers_from:
        raise PrintError("The count sheet must end after it starts.")
    sheet = count_sheet(cart=cart, covers_from=covers_from, covers_until=covers_until)
    job = PrintJob(
        kind=PrintJob.Kind.COUNT_SHEET,
        facility_id=cart.facility_id,
        cart=cart,
        covers_from=covers_from,
        covers_until=covers_until,
        requested_by=requested_by,
        requested_at=now,
        started_at=now,
        fingerprint=render.fingerprint(sheet),
    )
    if existing := _ready_document(job=job):
        return existing
    pdf = render.render_count_sheet(sheet, rendered_at=now)
    return _store(job, pdf=pdf, pages=render.page_count(pdf), digest=job.fingerprint, now=now)


# --- Housekeeping --------------------------------------------------------------------------


def print_files_prune(*, now: dt.datetime) -> int:
    """Delete pre-rendered resident months that a newer render superseded (nobody asked
    for them and no community print uses them) and downtime sheets of past shifts.
    Returns the number of documents deleted."""
    newer = PrintJob.objects.filter(
        kind=PrintJob.Kind.RESIDENT_MONTH,
        resident=OuterRef("resident"),
        month=OuterRef("month"),
        status=PrintJob.Status.READY,
        finished_at__gt=OuterRef("finished_at"),
    )
    superseded = (
        PrintJob.objects.filter(
            kind=PrintJob.Kind.RESIDENT_MONTH,
            status=PrintJob.Status.READY,
            requested_by__isnull=True,
            finished_at__lt=now - KEEP_SUPERSEDED,
        )
        .filter(Exists(newer))
        .exclude(pk__in=PrintJobPart.objects.filter(document__isnull=False).values("document_id"))
    )
    old_sheets = PrintJob.objects.filter(
        kind=PrintJob.Kind.DOWNTIME, covers_until__lt=now - KEEP_SHEETS, requested_by__isnull=True
    )
    deleted = 0
    for job in [*superseded.order_by("id")[:500], *old_sheets.order_by("id")[:500]]:
        job.file.delete(save=False)
        job.delete()
        deleted += 1
    return deleted
