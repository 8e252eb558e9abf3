"""Statements and reports: built by a later issue."""
