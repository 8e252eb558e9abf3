"""A URL conf with a view that fails, for the 500 answer's shape."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/broken/", broken), path("broken/", broken), path("", include("config.urls"))]
