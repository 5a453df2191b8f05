"""The catalogue: items, and their derived vectors."""
