"""Loan services (every write), one module per area."""
