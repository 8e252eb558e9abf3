"""What every page form shares: a service's refusal shown beside the fields it names."""

from __future__ import annotations

from typing import Any

from django import forms

from config.errors import ApplicationError


def add_refusal(form: forms.Form, error: ApplicationError) -> None:
    """Put ``error``'s field messages beside the form's fields (nested objects flattened
    to their first level); a message for a field the form lacks, or none at all, goes on
    top of the form."""
    placed = False
    for field, messages in (error.errors or {}).items():
        for message in _flat(messages):
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _flat(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in _flat(value)]
    return [str(messages)]
