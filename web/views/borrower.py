"""Pages of the borrower area."""

from django.urls import URLPattern

urls: list[URLPattern] = []
