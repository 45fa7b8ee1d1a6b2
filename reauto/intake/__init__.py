"""Real-time lead intake: leads posted to ``reauto serve`` are stored and dialed at once."""
