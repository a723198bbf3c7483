from django.apps import AppConfig


class StaffConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "staff"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from staff.middleware import on_sign_in, on_sign_out

        # A password sign-in remembers the person on this tablet; a sign-out forgets them.
        user_logged_in.connect(on_sign_in, dispatch_uid="staff.tablet.sign_in")
        user_logged_out.connect(on_sign_out, dispatch_uid="staff.tablet.sign_out")
