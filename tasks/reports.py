"""Report tasks (built by the reports framework)."""
