"""A URL conf with a view that fails, for the 500 answer's shape."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config.urls import handler500  # the project's own answer to an error


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/broken/", broken), path("broken/", broken), path("", include("config.urls"))]

__all__ = ["handler500", "urlpatterns"]
