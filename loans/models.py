"""Products, applications, loans and schedules: built by the workflow issue.

The schedule math lives in the pure modules ``loans.money``, ``loans.dates``,
``loans.schedule`` and ``loans.schedule_batch``, which import nothing from Django.
"""
