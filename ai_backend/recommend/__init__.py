"""Personalised recommendations of items and people from learning history."""
