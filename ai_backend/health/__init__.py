"""Liveness, readiness and diagnostics."""
