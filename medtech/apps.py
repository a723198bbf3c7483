from django.apps import AppConfig


class MedtechConfig(AppConfig):
    """The project package as an app: it holds the cross-cutting audit trail."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "medtech"
    verbose_name = "MedTech"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from medtech.middleware import on_sign_in
        from medtech.security import (
            on_locked_out,
            on_sign_in_failed,
            on_signed_in,
            on_signed_out,
        )

        # Every sign-in starts the idle and 12-hour clocks (medtech.middleware).
        user_logged_in.connect(on_sign_in, dispatch_uid="medtech.session.sign_in")

        # Sign-ins, sign-outs, failures and lockouts (password, API token, PIN) are audited.
        user_logged_in.connect(on_signed_in, dispatch_uid="medtech.audit.signed_in")
        user_logged_out.connect(on_signed_out, dispatch_uid="medtech.audit.signed_out")
        user_login_failed.connect(on_sign_in_failed, dispatch_uid="medtech.audit.sign_in_failed")
        user_locked_out.connect(on_locked_out, dispatch_uid="medtech.audit.locked_out")
