"""Pages of the accounts area."""

from django.urls import URLPattern

urls: list[URLPattern] = []
