"""Adapters to the outside world: servers, cache, vector index, embedder, LLM clients."""
