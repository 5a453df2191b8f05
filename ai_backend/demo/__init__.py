"""The demo data set loaded on the first `make run`."""
