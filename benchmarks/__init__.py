"""Benchmarks of notes-qa: scripts that print figures (not tests)."""
