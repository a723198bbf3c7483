from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from residents.selectors import facility_overviews_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    facilities = facility_overviews_for_user(user=request.user)
    return render(request, "home.html", {"facilities": facilities})
