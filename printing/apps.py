"""Printed documents: monthly MARs, downtime sheets, count sheets, as PDFs."""

from django.apps import AppConfig


class PrintingConfig(AppConfig):
    name = "printing"
    verbose_name = "Printing"
