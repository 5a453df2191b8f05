"""A member's learning history: check-ins on practices and events on items, written here and
read by recommendations and feedback."""
