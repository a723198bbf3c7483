from django.apps import AppConfig


class DrugrefConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "drugref"
    verbose_name = "Drug reference (FDA NDC Directory)"
