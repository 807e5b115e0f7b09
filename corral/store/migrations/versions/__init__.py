"""One module per revision, written by hand to match ``corral/store/schema.py`` (a test checks they agree)."""
