"""Grid data sets on disk and their splits."""
