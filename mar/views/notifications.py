from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from mar import selectors
from mar.services import notifications as notification_services


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's partial: polled by htmx from every page."""
    count = selectors.notifications_unread_count(user=request.user)
    return render(request, "mar/notifications.html#bell", {"unread_count": count})


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    context = {
        "notifications": selectors.notifications_for_user(user=request.user),
        "unread_count": selectors.notifications_unread_count(user=request.user),
    }
    return render(request, "mar/notifications.html", context)


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification_services.notification_mark_read(
            user=request.user, notification_id=notification_id, now=timezone.now()
        )
    except notification_services.NotificationNotFound as error:
        raise Http404(str(error)) from error
    return redirect("mar:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notification_services.notifications_mark_all_read(user=request.user, now=timezone.now())
    return redirect("mar:notifications")
