"""The supervising nurse's screens: review, overdue board, orders, record, reports."""

from django.apps import AppConfig


class NurseConfig(AppConfig):
    name = "nurse"
    verbose_name = "Nurse's screens"
