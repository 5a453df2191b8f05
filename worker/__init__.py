"""Celery worker: thin task shells around the same services the API uses."""
