"""Pages of the office area."""

from django.urls import URLPattern

urls: list[URLPattern] = []
