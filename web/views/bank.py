"""Pages of the bank area."""

from django.urls import URLPattern

urls: list[URLPattern] = []
