"""Celery tasks: thin wrappers that take ids (or plain JSON), re-read, and call one
service or pure function. Split by domain; the beat schedule is CELERY_BEAT_SCHEDULE."""
