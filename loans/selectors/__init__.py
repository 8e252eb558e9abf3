"""Loan reads (selectors), one module per area."""
