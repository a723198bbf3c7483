from django.apps import AppConfig


class MarConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mar"
    verbose_name = "Medication administration record"
