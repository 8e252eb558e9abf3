"""Fixtures of the pages' tests: the workflow tests' small programme."""

from tests.loans.conftest import Programme, programme  # noqa: F401 - fixtures shared with the loans tests
