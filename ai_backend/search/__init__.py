"""Hybrid keyword + vector search over the catalogue."""
