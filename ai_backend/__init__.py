"""daodao-ai: recommendations, semantic search and AI feedback for learning communities."""

__version__ = "0.1.0"
