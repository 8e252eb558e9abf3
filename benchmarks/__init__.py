"""Reproducible performance scripts (run each as a script; see RESULTS.md)."""
