"""The benchmark commands and their bare views; installed only by medtech.settings_bench."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    verbose_name = "Benchmarks"
