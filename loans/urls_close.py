"""URLs of the nightly close (included from loans/urls.py under /api/v1/)."""

from django.urls import path

from loans.apis.close import CloseApi

urlpatterns = [
    path("close/", CloseApi.as_view(), name="close"),
]
