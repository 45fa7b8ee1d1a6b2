"""`reauto serve`: Twilio webhooks, media streams, health and metrics."""
