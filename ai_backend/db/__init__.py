"""Database layer: metadata, models, engine and session factories."""
