"""Replay recorded calls through the current configuration and score it (``reauto eval``)."""
