"""Pages of the manager area."""

from django.urls import URLPattern

urls: list[URLPattern] = []
