"""Celery entry points of the drug reference: read the clock, call one service."""

from celery import shared_task
from django.utils import timezone

from drugref import services


@shared_task(name="drugref.remind_psychotropic_prn_ending")
def remind_psychotropic_prn_ending() -> int:
    return services.reminders_psychotropic_prn_ending(now=timezone.now())
